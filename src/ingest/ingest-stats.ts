import type { ConnectionsClosed } from '../shared/http-server.js';
import { PARSE_ERROR_REASONS, type MetricKind, type ParseErrorReason } from '../parser/sample.js';
import {
  FORWARDED_REJECT_REASONS,
  HTTP_INGEST_RESULTS,
  type ForwardedRejectReason,
  type HttpIngestResult,
  type ReceiverStats,
} from '../receivers/receiver.js';

export { FORWARDED_REJECT_REASONS, HTTP_INGEST_RESULTS };

/**
 * IngestStats are plain counters bumped on the hot path and read at scrape time, so
 * receiving a datagram costs no label lookups.
 */
export class IngestStats implements ReceiverStats {
  /** Datagrams (UDP, Unix socket) or chunks (TCP) received, by transport. */
  readonly datagrams = { udp: 0, tcp: 0, unix: 0 };
  /** Bytes received, by transport. */
  readonly bytes = { udp: 0, tcp: 0, unix: 0 };
  /** Lines seen (good and bad). */
  lines = 0;
  /** Metric samples accepted, by kind. */
  readonly samples: Record<MetricKind, number> = { counter: 0, gauge: 0, timer: 0, set: 0 };
  /** Events accepted. */
  events = 0;
  /** DogStatsD service checks accepted. */
  serviceChecks = 0;
  /** Unknown `|x…` fields skipped on accepted lines. */
  skippedFields = 0;
  /** Accepted lines that carried a client timestamp (`|T…`), which aggregation does not use. */
  clientTimestamps = 0;
  /** Gauge lines whose value has a sign (`+3`, `-3`): deltas or not by `gauge-deltas`. */
  gaugeSignedLines = 0;
  /** Rejected lines by reason. */
  readonly badLines = Object.fromEntries(PARSE_ERROR_REASONS.map((r) => [r, 0])) as Record<ParseErrorReason, number>;
  /** Metrics dropped by a `drop-metric` filter. */
  filtered = 0;
  /** TCP lines longer than the limit (discarded). */
  tcpLinesTooLong = 0;
  /** Datagrams the kernel truncated, dropped whole, by transport. */
  readonly truncatedDatagrams = { udp: 0, tcp: 0, unix: 0 };
  /** Forwarded series merged (`/v2/raw`), by kind. */
  readonly forwardedSeries: Record<MetricKind, number> = { counter: 0, gauge: 0, timer: 0, set: 0 };
  /** Forwarded series rejected, by reason. */
  readonly forwardedRejected = Object.fromEntries(FORWARDED_REJECT_REASONS.map((r) => [r, 0])) as Record<
    ForwardedRejectReason,
    number
  >;
  /** HTTP ingestion requests by server, then result. */
  readonly httpRequests = new Map<string, Record<HttpIngestResult, number>>();

  /** Connections closed by their listener, by listener. */
  readonly connections = new Map<string, ConnectionsClosed>();

  connectionsClosed(listener: string): ConnectionsClosed {
    let c = this.connections.get(listener);
    if (c === undefined) {
      c = { limit: 0, timeout: 0 };
      this.connections.set(listener, c);
    }
    return c;
  }

  httpIngest(server: string): Record<HttpIngestResult, number> {
    let r = this.httpRequests.get(server);
    if (r === undefined) {
      r = Object.fromEntries(HTTP_INGEST_RESULTS.map((k) => [k, 0])) as Record<HttpIngestResult, number>;
      this.httpRequests.set(server, r);
    }
    return r;
  }

  /** Total of {@link badLines}. */
  badLinesTotal(): number {
    let n = 0;
    for (const r of PARSE_ERROR_REASONS) n += this.badLines[r];
    return n;
  }
}

/** Visits every plain counter of `o` (numbers and records of numbers, not the maps) in a fixed order. */
function eachCounter(o: object, visit: (holder: Record<string, number>, key: string) => void): void {
  const rec = o as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    const v = rec[key];
    if (typeof v === 'number') visit(rec as Record<string, number>, key);
    else if (v !== null && typeof v === 'object' && !(v instanceof Map)) eachCounter(v, visit);
  }
}

/** The plain counters of `stats` as one list (what an ingest worker reports to the main thread). */
export function countersOf(stats: IngestStats): number[] {
  const out: number[] = [];
  eachCounter(stats, (h, k) => out.push(h[k]!));
  return out;
}

/** Adds `now - before` (two {@link countersOf} lists of one source) to the counters of `stats`. */
export function addCounters(stats: IngestStats, now: readonly number[], before: readonly number[]): void {
  let i = 0;
  eachCounter(stats, (h, k) => {
    h[k]! += (now[i] ?? 0) - (before[i] ?? 0);
    i++;
  });
}
