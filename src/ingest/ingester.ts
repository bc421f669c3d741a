import type { Aggregator } from '../aggregator/aggregator.js';
import type { LineParser } from '../parser/line-parser.js';
import type { ParseErrorReason, StatsdEvent } from '../parser/sample.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { IngestStats } from './ingest-stats.js';
import type { TagProcessor } from './tag-processor.js';
import type { DatagramSink, Transport } from '../receivers/receiver.js';
import { applySample } from '../aggregator/accumulators.js';
import { LineCache } from './line-cache.js';
import { COLON, DOT, MINUS, NEWLINE, NUL, PIPE, PLUS, UNDERSCORE } from '../parser/ascii.js';
import { utf8 } from '../parser/statsd-line-parser.js';

/** Dependencies of {@link Ingester}. */
export interface IngesterDeps {
  parser: LineParser;
  tags: TagProcessor;
  aggregator: Aggregator;
  stats: IngestStats;
  clock: Clock;
  logger: Logger;
  /** Receives every accepted event, hostname and date filled in. */
  onEvent: (event: StatsdEvent) => void;
  /** How many rejected lines may be logged per minute (`bad-lines-per-minute`); 0 = none. */
  badLinesPerMinute: number;
  /** Use the line cache (default true); false sends every line through the full parser. */
  lineCache?: boolean;
}

const FNV_PRIME = 0x01000193;
/** The line cache is never reset below this many entries (see #line). */
const CACHE_MIN_RESET = 65_536;
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/**
 * Ingester is the receivers' sink: it splits datagrams into lines, parses them, applies
 * host and tag rules and records the samples. It never throws; every line is counted as
 * accepted or rejected by reason, and a bad line never affects the others.
 *
 * Hot path: a line whose name, type, rate, tags and sender were seen before is looked up
 * in a {@link LineCache} while it is scanned once; a plain decimal value is then applied
 * straight to the cached accumulator. Everything else (new series, unusual values,
 * events, bad lines) takes the full parser, and the result is cached for next time. Both
 * paths give identical results; the cache only skips repeated work.
 */
export class Ingester implements DatagramSink {
  #d: IngesterDeps;
  readonly #cache = new LineCache();
  readonly #useCache: boolean;
  #lastHost = '';
  #lastHostHash = hashString('');
  #logWindowStart = 0;
  #loggedInWindow = 0;

  constructor(deps: IngesterDeps) {
    this.#d = deps;
    this.#useCache = deps.lineCache !== false;
  }

  /** Lines in the line cache. */
  get cachedLines(): number {
    return this.#cache.size;
  }

  /** Forgets cached line identities (after tag or filter settings change). */
  invalidate(): void {
    this.#cache.clear();
  }

  /**
   * Swaps the tag rules (namespace, default tags, filters, ignore-host) and the bad-line
   * log budget (a config reload). Series already aggregated are not renamed; lines from
   * now on follow the new rules.
   */
  reconfigure(tags: TagProcessor, badLinesPerMinute: number): void {
    this.#d = { ...this.#d, tags, badLinesPerMinute };
    this.#cache.clear();
  }

  /**
   * Processes one datagram: `\n`-separated lines, the last one without `\n` included, a
   * trailing `\n` not producing an empty line. All lines share one receive timestamp.
   */
  ingestDatagram(bytes: Uint8Array, sourceHost: string, transport: Transport = 'udp'): void {
    this.ingestDatagramAt(bytes, 0, bytes.length, sourceHost, transport);
  }

  /** {@link ingestDatagram} for the datagram `bytes[start, end)` of a shared buffer. */
  ingestDatagramAt(
    bytes: Uint8Array,
    start: number,
    end: number,
    sourceHost: string,
    transport: Transport = 'udp',
  ): void {
    const stats = this.#d.stats;
    stats.datagrams[transport]++;
    stats.bytes[transport] += end - start;
    if (end <= start) return;
    const now = this.#d.clock.now();
    const hostHash = this.#hostHash(sourceHost);
    let p = start;
    while (p < end) p = this.#fastLine(bytes, p, end, sourceHost, hostHash, now) + 1;
  }

  /** Processes one already-framed line `bytes[start, end)` (TCP). */
  ingestLine(bytes: Uint8Array, start: number, end: number, sourceHost: string): void {
    const now = this.#d.clock.now();
    if (start === end) {
      this.#line(bytes, start, end, sourceHost, now, 0, -1, -1);
      return;
    }
    this.#fastLine(bytes, start, end, sourceHost, this.#hostHash(sourceHost), now);
  }

  #hostHash(host: string): number {
    if (host !== this.#lastHost) {
      this.#lastHost = host;
      this.#lastHostHash = hashString(host);
    }
    return this.#lastHostHash;
  }

  /**
   * Scans one line from `p` (up to `\n` or `limit`) and processes it; returns the index
   * of the line's end (its `\n`, or `limit`).
   */
  #fastLine(bytes: Uint8Array, p: number, limit: number, host: string, hostHash: number, now: number): number {
    const first = bytes[p]!;
    if (first === NEWLINE || first === UNDERSCORE || !this.#useCache)
      return this.#slowFrom(bytes, p, p, limit, host, now);
    let h = hostHash;
    let i = p;
    for (; i < limit; i++) {
      const c = bytes[i]!;
      if (c === COLON || c === NEWLINE) break;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    if (i >= limit || bytes[i] !== COLON) return this.#slowFrom(bytes, p, i, limit, host, now);
    const colon = i++;
    // A plain decimal value is parsed on the way: [+-]digits[.digits], at most 15 digits.
    let negative = false;
    if (bytes[i] === MINUS) {
      negative = true;
      i++;
    } else if (bytes[i] === PLUS) i++;
    let mantissa = 0;
    let digits = 0;
    let fraction = -1;
    for (; i < limit; i++) {
      const c = bytes[i]!;
      if (c >= 0x30 && c <= 0x39) {
        mantissa = mantissa * 10 + (c - 0x30);
        digits++;
      } else if (c === DOT && fraction < 0) fraction = digits;
      else break;
    }
    const simple = digits > 0 && digits <= 15 && i < limit && bytes[i] === PIPE;
    if (!simple) {
      for (; i < limit; i++) {
        const c = bytes[i]!;
        if (c === PIPE || c === NEWLINE) break;
      }
    }
    if (i >= limit || bytes[i] !== PIPE) return this.#slowFrom(bytes, p, i, limit, host, now);
    const pipe = i;
    for (; i < limit; i++) {
      const c = bytes[i]!;
      if (c === NEWLINE) break;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    const end = i;
    const cache = this.#cache;
    const e = cache.find(h, bytes, p, colon, pipe, end, host);
    if (e >= 0) {
      const acc = cache.accumulator(e);
      if (!acc.dead) {
        if (acc.kind === 'set') {
          let clean = true;
          for (let q = colon + 1; q < pipe; q++) if (bytes[q] === NUL) clean = false;
          if (clean) {
            const stats = this.#d.stats;
            stats.lines++;
            stats.samples.set++;
            applySample(acc, 0, utf8(bytes, colon + 1, pipe), 1, now);
            return end;
          }
        } else if (simple) {
          let value = fraction < 0 || fraction === digits ? mantissa : mantissa / POW10[digits - fraction]!;
          if (negative) value = -value;
          const stats = this.#d.stats;
          stats.lines++;
          stats.samples[acc.kind]++;
          applySample(acc, value, '', cache.rate(e), now);
          return end;
        }
      }
    }
    this.#line(bytes, p, end, host, now, h, colon, pipe, e);
    return end;
  }

  /** The slow path for a line that the scan gave up on at `from`: finds its end first. */
  #slowFrom(bytes: Uint8Array, p: number, from: number, limit: number, host: string, now: number): number {
    let end = from;
    while (end < limit && bytes[end] !== NEWLINE) end++;
    this.#line(bytes, p, end, host, now, 0, -1, -1);
    return end;
  }

  /**
   * Full processing of one line. When `colon >= 0` the line was scanned by the fast path
   * and an accepted metric is cached under `hash` (or re-pointed, for entry `entry`).
   */
  #line(
    bytes: Uint8Array,
    start: number,
    end: number,
    sourceHost: string,
    now: number,
    hash: number,
    colon: number,
    pipe: number,
    entry = -1,
  ): void {
    const d = this.#d;
    d.stats.lines++;
    const r = d.parser(bytes, start, end);
    if (r.type === 'metric') {
      const m = r.metric;
      const id = d.tags.identify(m.name, m.tags, sourceHost);
      if (id === undefined) {
        d.stats.filtered++;
        return;
      }
      const acc = d.aggregator.record(
        {
          kind: m.kind,
          name: id.name,
          tags: id.tags,
          host: id.host,
          tagsKey: id.tagsKey,
          value: m.value,
          member: m.member,
          rate: m.rate,
        },
        now,
      );
      if (acc === undefined) return; // past max-series: counted by the aggregator
      d.stats.samples[m.kind]++;
      if (colon >= 0) {
        if (entry >= 0) this.#cache.replace(entry, acc);
        else {
          // Entries of expired series are dead weight (they hold their accumulators):
          // start over once the cache is much larger than the live series, so churning
          // names cannot grow it (and the memory it pins) towards its hard limit.
          if (this.#cache.size >= Math.max(CACHE_MIN_RESET, 2 * d.aggregator.liveSeries)) this.#cache.clear();
          this.#cache.insert(hash, bytes, start, colon, pipe, end, sourceHost, acc, m.rate);
        }
      }
    } else if (r.type === 'event') {
      d.stats.events++;
      const e = r.event;
      if (e.hostname === '') e.hostname = sourceHost;
      if (e.dateHappened === 0) e.dateHappened = Math.floor(now / 1000);
      e.tags = d.tags.eventTags(e.tags);
      d.onEvent(e);
    } else {
      d.stats.badLines[r.reason]++;
      this.#logBadLine(bytes, start, end, r.reason, sourceHost, now);
    }
  }

  #logBadLine(
    bytes: Uint8Array,
    start: number,
    end: number,
    reason: ParseErrorReason,
    source: string,
    now: number,
  ): void {
    const limit = this.#d.badLinesPerMinute;
    if (limit <= 0) return;
    if (now - this.#logWindowStart >= 60_000) {
      this.#logWindowStart = now;
      this.#loggedInWindow = 0;
    }
    if (this.#loggedInWindow >= limit) return;
    this.#loggedInWindow++;
    const shown = Buffer.from(bytes.subarray(start, Math.min(end, start + 200))).toString('utf8');
    this.#d.logger.info({ reason, source, line: shown }, 'rejected a bad line');
  }
}
