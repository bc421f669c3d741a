import type { Aggregator } from '../aggregator/aggregator.js';
import type { LineParser } from '../parser/line-parser.js';
import type { ParseErrorReason, StatsdEvent } from '../parser/sample.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { IngestStats } from './ingest-stats.js';
import type { TagProcessor } from './tag-processor.js';

/** Transport a datagram or line arrived on, for self-metrics. */
export type Transport = 'udp' | 'tcp';

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
}

const NEWLINE = 0x0a;

/**
 * Ingester is the receivers' sink: it splits datagrams into lines, parses them, applies
 * host and tag rules and records the samples. It never throws; every line is counted as
 * accepted or rejected by reason, and a bad line never affects the others.
 */
export class Ingester {
  readonly #d: IngesterDeps;
  #logWindowStart = 0;
  #loggedInWindow = 0;

  constructor(deps: IngesterDeps) {
    this.#d = deps;
  }

  /**
   * Processes one datagram: `\n`-separated lines, the last one without `\n` included, a
   * trailing `\n` not producing an empty line. All lines share one receive timestamp.
   */
  ingestDatagram(bytes: Uint8Array, sourceHost: string, transport: Transport = 'udp'): void {
    const stats = this.#d.stats;
    stats.datagrams[transport]++;
    stats.bytes[transport] += bytes.length;
    if (bytes.length === 0) return;
    const now = this.#d.clock.now();
    let start = 0;
    const len = bytes.length;
    for (let i = 0; i < len; i++) {
      if (bytes[i] === NEWLINE) {
        this.#line(bytes, start, i, sourceHost, now);
        start = i + 1;
      }
    }
    if (start < len) this.#line(bytes, start, len, sourceHost, now);
  }

  /** Processes one line that arrived without framing (TCP). */
  ingestLine(bytes: Uint8Array, start: number, end: number, sourceHost: string): void {
    this.#line(bytes, start, end, sourceHost, this.#d.clock.now());
  }

  #line(bytes: Uint8Array, start: number, end: number, sourceHost: string, now: number): void {
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
      d.stats.samples[m.kind]++;
      d.aggregator.record(
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
