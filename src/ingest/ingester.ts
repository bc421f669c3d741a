import type { Aggregator, SeriesRef } from '../aggregator/aggregator.js';
import type { LineParser } from '../parser/line-parser.js';
import {
  MAX_NAME_BYTES,
  type MetricKind,
  type ParseErrorReason,
  type ServiceCheck,
  type StatsdEvent,
} from '../parser/sample.js';
import { normaliseName } from '../parser/statsd-line-parser.js';
import { forEachEntry, int64, type RawMessage, type RawTimer, type TagMaps } from '../wire/gostatsd.js';
import { FoldedTimer } from '../aggregator/folded-timer.js';
import type { Clock } from '../shared/clock.js';
import { RateLimitedLog, type Logger } from '../shared/logger.js';
import type { IngestStats } from './ingest-stats.js';
import type { TagProcessor } from './tag-processor.js';
import type { DatagramSink, Transport } from '../receivers/receiver.js';
import { LineCache } from './line-cache.js';
import { LineScan, plainMember, plainValue, scanLine } from '../parser/line-scan.js';
import { MINUS, PLUS } from '../parser/ascii.js';
import type { MetricStatsSink } from './metric-stats.js';
import type { IngestTap, RejectSink } from './observe.js';
import { fnv1a } from '../shared/hash.js';

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
  /** Receives every accepted service check, hostname and timestamp filled in. */
  onServiceCheck?: (check: ServiceCheck) => void;
  /** How many rejected lines may be logged per minute (`bad-lines-per-minute`); 0 = none. */
  badLinesPerMinute: number;
  /** Use the line cache (default true); false sends every line through the full parser. */
  lineCache?: boolean;
  /** `gauge-deltas`: what a signed gauge value does (default `ignore`). */
  gaugeDeltas?: GaugeDeltaRule;
  /** Per-metric statistics (`/debug/metrics`); absent: none are kept. */
  metricStats?: MetricStatsSink;
  /** The last rejected lines (the status page); absent: none are kept. */
  rejects?: RejectSink;
}

/**
 * What a signed gauge value (`x:+3|g`) does: `ignore` sets the gauge to it (the
 * reference's rule), `apply` adds it to the last value (Etsy statsd's rule).
 */
export const GAUGE_DELTA_RULES = ['ignore', 'apply'] as const;
export type GaugeDeltaRule = (typeof GAUGE_DELTA_RULES)[number];

/** What a map entry without a value on the wire stands for: the message's default. */
const DEFAULT_ENTRY: Record<MetricKind, object> = {
  counter: { Tags: [], Hostname: '', Value: 0 },
  gauge: { Tags: [], Hostname: '', Value: 0 },
  timer: { Tags: [], Hostname: '', SampleCount: 0, Values: [] },
  set: { Tags: [], Hostname: '', Values: [] },
};

const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;

/** A forwarded name, normalised as a received line's name is (already so when a daemon forwarded it). */
function forwardedName(name: string): string {
  return PLAIN_NAME.test(name) ? name : normaliseName(Buffer.from(name), 0, Buffer.byteLength(name));
}

/** A countdown that does not run out (a small integer, as the field's others are). */
const NEVER = 0x3fffffff;

/** The line cache is never reset below this many entries (see #line). */
const CACHE_MIN_RESET = 65_536;
/** A scan that found no `name:value|` structure: the line is never cached. */
const UNCACHED = new LineScan();

/**
 * Ingester is the receivers' sink: it splits datagrams into lines, parses them, applies
 * host and tag rules and records the samples. It never throws; every line is counted as
 * accepted or rejected by reason, and a bad line never affects the others.
 *
 * Hot path: each line is scanned once by the parser's `scanLine`; a line whose name, type,
 * rate, tags and sender were seen before is found in a {@link LineCache}, and a plain
 * decimal value (`plainValue`) is applied to the cached series (`Aggregator.applyTo`). Everything else (new series, unusual values,
 * events, bad lines) takes the full parser, and the result is cached for next time. Both
 * paths give identical results; the cache only skips repeated work.
 */
export class Ingester implements DatagramSink {
  #d: IngesterDeps;
  readonly #cache = new LineCache();
  readonly #useCache: boolean;
  #lastHost = '';
  #lastHostHash = fnv1a('');
  /** The scan of the line being processed (one object for every line). */
  readonly #scan = new LineScan();
  /** Bad lines logged: `bad-lines-per-minute` at most. */
  #badLineLog: RateLimitedLog;
  /** The container id of the datagram being processed (Unix socket origin detection), or `''`. */
  #origin = '';
  /** `gauge-deltas = apply`. */
  #applyDeltas: boolean;
  /** The live tap, while one is open (see {@link attachTap}). */
  #tap: IngestTap | undefined = undefined;
  /** Samples on the fast path until the next one is counted in the per-metric statistics. */
  #countdown: number;

  constructor(deps: IngesterDeps) {
    this.#d = deps;
    this.#applyDeltas = deps.gaugeDeltas === 'apply';
    this.#useCache = deps.lineCache !== false;
    this.#countdown = deps.metricStats?.sampleEvery ?? NEVER;
    this.#badLineLog = this.#newBadLineLog();
  }

  /** Shows every datagram, TCP line and rejection to `tap` from now on; undefined detaches it. */
  attachTap(tap: IngestTap | undefined): void {
    this.#tap = tap;
  }

  /** A fast-path sample of `series`: one in `sampleEvery` is counted, weighted. */
  #sampled(series: SeriesRef, now: number): void {
    const ms = this.#d.metricStats;
    this.#countdown = ms?.sampleEvery ?? NEVER;
    ms?.samples(series.name, ms.sampleEvery, now);
  }

  #newBadLineLog(): RateLimitedLog {
    return new RateLimitedLog(60_000, () => this.#d.clock.now(), this.#d.badLinesPerMinute);
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
  reconfigure(tags: TagProcessor, badLinesPerMinute: number, gaugeDeltas: GaugeDeltaRule = 'ignore'): void {
    this.#d = { ...this.#d, tags, badLinesPerMinute, gaugeDeltas };
    this.#applyDeltas = gaugeDeltas === 'apply';
    this.#badLineLog = this.#newBadLineLog();
    this.#cache.clear();
  }

  /**
   * Processes one datagram: `\n`-separated lines, the last one without `\n` included, a
   * trailing `\n` not producing an empty line. All lines share one receive timestamp.
   */
  ingestDatagram(bytes: Uint8Array, sourceHost: string, transport: Transport = 'udp'): void {
    this.ingestDatagramAt(bytes, 0, bytes.length, sourceHost, transport);
  }

  /**
   * {@link ingestDatagram} for the datagram `bytes[start, end)` of a shared buffer.
   * `origin` (a container id from Unix socket credentials) tags lines that carry no
   * container id of their own.
   */
  ingestDatagramAt(
    bytes: Uint8Array,
    start: number,
    end: number,
    sourceHost: string,
    transport: Transport = 'udp',
    origin = '',
  ): void {
    const stats = this.#d.stats;
    stats.datagrams[transport]++;
    stats.bytes[transport] += end - start;
    if (end <= start) return;
    const now = this.#d.clock.now();
    if (this.#tap !== undefined) this.#tap.datagram(bytes, start, end, sourceHost, transport, now);
    if (origin !== '') {
      // A line cached for one sender's container must not be applied for another's: the
      // origin is part of the cache key (as the host is), and of the series' tags.
      this.#origin = origin;
      const key = `${sourceHost}\u0000${origin}`;
      const hash = this.#hostHash(key);
      let p = start;
      while (p < end) p = this.#fastLine(bytes, p, end, key, hash, now) + 1;
      this.#origin = '';
      return;
    }
    const hostHash = this.#hostHash(sourceHost);
    let p = start;
    while (p < end) p = this.#fastLine(bytes, p, end, sourceHost, hostHash, now) + 1;
  }

  /** Processes one already-framed line `bytes[start, end)` (TCP). */
  ingestLine(bytes: Uint8Array, start: number, end: number, sourceHost: string): void {
    const now = this.#d.clock.now();
    if (this.#tap !== undefined) this.#tap.line(bytes, start, end, sourceHost, now);
    this.#fastLine(bytes, start, end, sourceHost, this.#hostHash(sourceHost), now);
  }

  #hostHash(host: string): number {
    if (host !== this.#lastHost) {
      this.#lastHost = host;
      this.#lastHostHash = fnv1a(host);
    }
    return this.#lastHostHash;
  }

  /**
   * Scans one line from `p` (up to `\n` or `limit`) and processes it; returns the index
   * of the line's end (its `\n`, or `limit`).
   */
  #fastLine(bytes: Uint8Array, p: number, limit: number, host: string, hostHash: number, now: number): number {
    const scan = this.#scan;
    scanLine(bytes, p, limit, hostHash, scan);
    if (scan.colon < 0 || !this.#useCache) {
      this.#line(bytes, p, scan.end, host, now, UNCACHED, -1);
      return scan.end;
    }
    const cache = this.#cache;
    const e = cache.find(scan.hash, bytes, p, scan.colon, scan.pipe, scan.end, host);
    if (e >= 0) {
      const series = cache.series(e);
      if (!series.dead) {
        const d = this.#d;
        if (series.kind === 'set') {
          const member = plainMember(bytes, scan.colon + 1, scan.pipe);
          if (member !== undefined) {
            d.stats.lines++;
            d.stats.samples.set++;
            d.aggregator.applyTo(series, 0, member, 1, now);
            if (--this.#countdown === 0) this.#sampled(series, now);
            return scan.end;
          }
        } else {
          const value = plainValue(bytes, scan.colon + 1, scan.pipe);
          if (value === value) {
            // (not NaN: a plain decimal value)
            d.stats.lines++;
            d.stats.samples[series.kind]++;
            if (series.kind === 'gauge') {
              const sign = bytes[scan.colon + 1];
              if (sign === PLUS || sign === MINUS) {
                d.stats.gaugeSignedLines++;
                if (this.#applyDeltas) {
                  d.aggregator.adjustGauge(series, value, now);
                  if (--this.#countdown === 0) this.#sampled(series, now);
                  return scan.end;
                }
              }
            }
            d.aggregator.applyTo(series, value, '', cache.rate(e), now);
            if (--this.#countdown === 0) this.#sampled(series, now);
            return scan.end;
          }
        }
      }
    }
    this.#line(bytes, p, scan.end, host, now, scan, e);
    return scan.end;
  }

  /**
   * Full processing of the line `bytes[start, end)`. An accepted metric is cached under
   * the identity `scan` found (a new entry, or entry `entry` re-pointed), unless the scan
   * found no `name:value|` structure.
   */
  #line(
    bytes: Uint8Array,
    start: number,
    end: number,
    sourceHost: string,
    now: number,
    scan: LineScan,
    entry: number,
  ): void {
    const d = this.#d;
    d.stats.lines++;
    // With an origin, `sourceHost` is the cache key `host\0origin`; the host is its first part.
    const host = this.#origin === '' ? sourceHost : sourceHost.slice(0, sourceHost.indexOf('\u0000'));
    const r = d.parser(bytes, start, end);
    if (r.type === 'metric') {
      const m = r.metric;
      // The line's own container id (with container-id-tag), else the sender's (Unix socket origin).
      const containerId = m.containerId !== '' && d.tags.containerIdTag ? m.containerId : this.#origin;
      const tags = containerId !== '' ? [...m.tags, `container_id:${containerId}`] : m.tags;
      const id = d.tags.identify(m.name, tags, host);
      if (id === undefined) {
        d.stats.filtered++;
        return;
      }
      const delta = m.signed && m.kind === 'gauge';
      if (delta) d.stats.gaugeSignedLines++;
      const sample = {
        kind: m.kind,
        name: id.name,
        tags: id.tags,
        host: id.host,
        tagsKey: id.tagsKey,
        value: m.value,
        member: m.member,
        rate: m.rate,
      };
      const adjust = delta && this.#applyDeltas;
      const live = d.aggregator.liveSeries;
      const series = adjust ? d.aggregator.resolve(sample, now) : d.aggregator.record(sample, now);
      const ms = d.metricStats;
      if (series === undefined) {
        // Past max-series: counted by the aggregator.
        ms?.capped(id.name, now);
        return;
      }
      if (d.aggregator.liveSeries > live) {
        ms?.newSeries(id.name, id.tags, now);
        // The name as written, for backends with the peer's naming (the namespace kept).
        if (m.rawName !== '')
          d.aggregator.noteRawName(id.name, id.name.slice(0, id.name.length - m.name.length) + m.rawName);
      }
      ms?.samples(id.name, 1 + m.extraValues.length, now);
      if (adjust) d.aggregator.adjustGauge(series, m.value, now);
      d.stats.samples[m.kind]++;
      // Packed values (DogStatsD 1.1): the same series, each value sampled at the line's rate
      // (a signed gauge line's values are all deltas under gauge-deltas = apply).
      for (const v of m.extraValues) {
        if (adjust) d.aggregator.adjustGauge(series, v, now);
        else d.aggregator.applyTo(series, v, '', m.rate, now);
        d.stats.samples[m.kind]++;
      }
      if (m.skippedFields > 0) d.stats.skippedFields += m.skippedFields;
      if (m.timestamp > 0) d.stats.clientTimestamps++;
      // Lines that skip fields or carry a timestamp are parsed every time: they stay counted,
      // and per-second timestamps do not fill the cache with one entry per second.
      if (scan.colon >= 0 && m.skippedFields === 0 && m.timestamp === 0) {
        if (entry >= 0) this.#cache.replace(entry, series);
        else {
          // Entries of expired series are dead weight (they hold their series): start
          // over once the cache is much larger than the live series, so churning names
          // cannot grow it (and the memory it pins) towards its hard limit.
          if (this.#cache.size >= Math.max(CACHE_MIN_RESET, 2 * d.aggregator.liveSeries)) this.#cache.clear();
          this.#cache.insert(scan.hash, bytes, start, scan.colon, scan.pipe, end, sourceHost, series, m.rate);
        }
      }
    } else if (r.type === 'event') {
      this.#event(r.event, host, now);
    } else if (r.type === 'check') {
      this.#serviceCheck(r.check, host, now);
    } else {
      d.stats.badLines[r.reason]++;
      this.#logBadLine(bytes, start, end, r.reason, host);
      d.rejects?.add(bytes, start, end, r.reason, r.at, host, now);
      if (this.#tap !== undefined) this.#tap.rejected(bytes, start, end, r.reason, r.at, host, now);
    }
  }

  #serviceCheck(c: ServiceCheck, sourceHost: string, now: number): void {
    const d = this.#d;
    d.stats.serviceChecks++;
    if (c.hostname === '') c.hostname = sourceHost;
    if (c.timestamp === 0) c.timestamp = Math.floor(now / 1000);
    c.tags = d.tags.eventTags(c.tags);
    d.onServiceCheck?.(c);
  }

  ingestEvent(event: StatsdEvent, sourceHost: string): void {
    this.#event(event, sourceHost, this.#d.clock.now());
  }

  #event(e: StatsdEvent, sourceHost: string, now: number): void {
    const d = this.#d;
    d.stats.events++;
    if (e.hostname === '') e.hostname = sourceHost;
    if (e.dateHappened === 0) e.dateHappened = Math.floor(now / 1000);
    e.tags = d.tags.eventTags(e.tags);
    d.onEvent(e);
  }

  ingestForwarded(m: RawMessage): number {
    const now = this.#d.clock.now();
    const agg = this.#d.aggregator;
    let merged = 0;
    this.#forwarded(
      m.Counters,
      'counter',
      now,
      () => true,
      (ref, c) => {
        agg.applyTo(ref, int64(c.Value), '', 1, now);
        merged++;
      },
    );
    this.#forwarded(
      m.Gauges,
      'gauge',
      now,
      (g) => Number.isFinite(g.Value),
      (ref, g) => {
        agg.applyTo(ref, g.Value, '', 1, now);
        merged++;
      },
    );
    // A folded interval (statsd-sepagent's Histogram extension) merges bucket-wise; its
    // Values are only representatives. It is decoded once, when checked: `merge` follows
    // `valid` for the same entry.
    let folded: FoldedTimer | undefined;
    const validTimer = (t: RawTimer): boolean => {
      folded = t.Histogram == null ? undefined : FoldedTimer.fromWire(t.Histogram);
      return (
        t.SampleCount >= 0 &&
        t.SampleCount < Infinity &&
        (t.Histogram == null ? t.Values.every(Number.isFinite) : folded !== undefined)
      );
    };
    this.#forwarded(
      m.Timers,
      'timer',
      now,
      validTimer,
      (ref, t) => {
        if (folded === undefined) agg.mergeTimer(ref, t.Values, t.SampleCount, now);
        else agg.mergeTimerHistogram(ref, folded, t.SampleCount, now);
        merged++;
      },
      (t) => t.Values.length === 0 && t.SampleCount === 0 && t.Histogram == null,
    );
    this.#forwarded(
      m.Sets,
      'set',
      now,
      () => true,
      (ref, s) => {
        for (const member of s.Values) agg.applyTo(ref, 0, member, 1, now);
        merged++;
      },
      (s) => s.Values.length === 0,
    );
    return merged;
  }

  /**
   * Merges the series of one kind of a forwarded message: each entry with a valid name
   * and value is identified like a received line (filters, default tags) and handed to
   * `merge`; `empty` entries carry nothing and are skipped.
   */
  #forwarded<T extends { Tags: string[]; Hostname: string }>(
    maps: TagMaps<T> | undefined,
    kind: MetricKind,
    now: number,
    valid: (v: T) => boolean,
    merge: (ref: SeriesRef, v: T) => void,
    empty: (v: T) => boolean = () => false,
  ): void {
    const d = this.#d;
    forEachEntry(maps, (rawName, byTags) =>
      forEachEntry(byTags?.TagMap, (_tagsKey, entry) => {
        const v = entry ?? (DEFAULT_ENTRY[kind] as unknown as T);
        if (empty(v)) return;
        const name = forwardedName(rawName);
        if (name === '') {
          d.stats.forwardedRejected.empty_name++;
          return;
        }
        if (rawName.length > MAX_NAME_BYTES / 3 && Buffer.byteLength(rawName) > MAX_NAME_BYTES) {
          d.stats.forwardedRejected.name_too_long++;
          return;
        }
        if (!valid(v)) {
          d.stats.forwardedRejected.invalid_value++;
          return;
        }
        const id = d.tags.identifyForwarded(
          name,
          v.Tags.filter((t) => t !== ''),
          v.Hostname,
        );
        if (id === undefined) {
          d.stats.filtered++;
          return;
        }
        const ref = d.aggregator.resolve({ kind, ...id }, now);
        if (ref === undefined) return; // past max-series: counted by the aggregator
        d.stats.forwardedSeries[kind]++;
        merge(ref, v);
      }),
    );
  }

  #logBadLine(bytes: Uint8Array, start: number, end: number, reason: ParseErrorReason, source: string): void {
    this.#badLineLog.maybe('bad-line', (suppressed) => {
      const shown = Buffer.from(bytes.subarray(start, Math.min(end, start + 200))).toString('utf8');
      this.#d.logger.info({ reason, source, line: shown, suppressed }, 'rejected a bad line');
    });
  }
}
