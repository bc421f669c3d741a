import { PARSE_ERROR_REASONS, type MetricKind, type ParseErrorReason } from '../parser/sample.js';

/**
 * IngestStats are plain counters bumped on the hot path and read at scrape time, so
 * receiving a datagram costs no label lookups.
 */
export class IngestStats {
  /** Datagrams (UDP) or chunks (TCP) received, by transport. */
  readonly datagrams = { udp: 0, tcp: 0 };
  /** Bytes received, by transport. */
  readonly bytes = { udp: 0, tcp: 0 };
  /** Lines seen (good and bad). */
  lines = 0;
  /** Metric samples accepted, by kind. */
  readonly samples: Record<MetricKind, number> = { counter: 0, gauge: 0, timer: 0, set: 0 };
  /** Events accepted. */
  events = 0;
  /** Rejected lines by reason. */
  readonly badLines = Object.fromEntries(PARSE_ERROR_REASONS.map((r) => [r, 0])) as Record<ParseErrorReason, number>;
  /** Metrics dropped by a `drop-metric` filter. */
  filtered = 0;
  /** TCP lines longer than the limit (discarded). */
  tcpLinesTooLong = 0;

  /** Total of {@link badLines}. */
  badLinesTotal(): number {
    let n = 0;
    for (const r of PARSE_ERROR_REASONS) n += this.badLines[r];
    return n;
  }
}
