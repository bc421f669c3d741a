import type { StatsdEvent } from '../parser/sample.js';
import type { Clock } from '../shared/clock.js';
import type { ConnectionsClosed } from '../shared/http-server.js';
import type { KeyReader, KeySpec } from '../shared/config-key.js';
import type { RouteRegistry } from '../shared/http-routes.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { BoundAddress } from '../shared/listen.js';
import type { Logger } from '../shared/logger.js';
import type { ForwardedCapReason, RawMessage } from '../wire/gostatsd.js';

/** Transport a datagram or line arrived on, for self-metrics. */
export type Transport = 'udp' | 'tcp' | 'unix';

/**
 * How an HTTP ingestion request (`/v2/raw`, `/v2/event`) ended; the `result` label of
 * `statsd_sepagent_http_ingest_requests_total`.
 */
export type HttpIngestResult =
  /** Merged (202). */
  | 'accepted'
  /** Body (declared, sent or inflated) over the size limit (413). */
  | 'too_large'
  /** Body not complete within the request timeout (408). */
  | 'timeout'
  /** A `Content-Encoding` other than `deflate` or `identity` (400). */
  | 'bad_encoding'
  /** Not a zlib stream although `deflate` was declared (400). */
  | 'bad_deflate'
  /** Not a protobuf message of the path's type (400). */
  | 'bad_protobuf'
  /** The body could not be read: the client went away mid-upload (500, when still possible). */
  | 'read_error'
  /** The server holds `max-buffered-size` of bodies in flight already (503 with `Retry-After`). */
  | 'busy';

export const HTTP_INGEST_RESULTS: readonly HttpIngestResult[] = [
  'accepted',
  'too_large',
  'timeout',
  'bad_encoding',
  'bad_deflate',
  'bad_protobuf',
  'read_error',
  'busy',
];

/** Why a forwarded series was not merged; the `reason` label of `statsd_sepagent_forwarded_series_rejected_total`. */
export type ForwardedRejectReason = 'empty_name' | 'name_too_long' | 'invalid_value' | ForwardedCapReason;
export const FORWARDED_REJECT_REASONS: readonly ForwardedRejectReason[] = [
  'empty_name',
  'name_too_long',
  'invalid_value',
  'too_many_series',
  'too_many_tags',
  'too_many_values',
];

/**
 * DatagramSink is what receivers feed. Implementations MUST NOT throw; every line is
 * accounted for (accepted, or rejected by reason).
 */
export interface DatagramSink {
  /** One UDP datagram (or any `\n`-separated batch of lines) from `sourceHost`. */
  ingestDatagram(bytes: Uint8Array, sourceHost: string, transport?: Transport): void;
  /**
   * One datagram `bytes[start, end)` of a buffer that is reused once this returns.
   * `origin`: the sender's container id (Unix socket origin detection), tagged
   * `container_id:` on lines that carry none of their own; `''` for none.
   */
  ingestDatagramAt(
    bytes: Uint8Array,
    start: number,
    end: number,
    sourceHost: string,
    transport?: Transport,
    origin?: string,
  ): void;
  /** One already-framed line `bytes[start, end)` (TCP). */
  ingestLine(bytes: Uint8Array, start: number, end: number, sourceHost: string): void;
  /**
   * One interval forwarded by another daemon (`RawMessageV2` from `/v2/raw`), merged the
   * way gostatsd merges maps: counters add, gauges take the value, timers append their
   * values and sampled count, sets take the union. Invalid series are counted and skipped;
   * the others are merged. Returns how many series were merged.
   */
  ingestForwarded(message: RawMessage): number;
  /** One event that arrived whole (`/v2/event`); an empty hostname becomes `sourceHost`. */
  ingestEvent(event: StatsdEvent, sourceHost: string): void;
}

/**
 * A listener feeding a DatagramSink. It never throws into the event loop after start;
 * socket errors are logged and the receiver keeps serving.
 */
export interface Receiver extends Lifecycle {
  /** The bound address once started (port resolved when 0 was asked for). */
  address(): BoundAddress;
  /** Datagrams the kernel dropped on its socket (full receive buffer), where the OS tells. */
  kernelDrops?(): number | undefined;
}

/** Hot-path counters a receiver bumps itself (the daemon's IngestStats). */
export interface ReceiverStats {
  readonly datagrams: Record<Transport, number>;
  readonly bytes: Record<Transport, number>;
  tcpLinesTooLong: number;
  /**
   * Datagrams dropped whole before any line was read, by transport: `truncated_datagram`,
   * one longer than the receive slot that the kernel cut (MSG_TRUNC); its cut last line
   * could otherwise count wrongly (`@0.015` read as `@0.01`).
   */
  readonly truncatedDatagrams: Record<Transport, number>;
  /** Forwarded series not merged, by reason. */
  readonly forwardedRejected: Record<ForwardedRejectReason, number>;
  /** HTTP ingestion requests by server name and result. */
  httpIngest(server: string): Record<HttpIngestResult, number>;
  /** Connections a stream listener (`tcp`, `http.<name>`, `admin`) closed on its own, by reason. */
  connectionsClosed(listener: string): ConnectionsClosed;
}

/** What the daemon hands every receiver it creates. */
export interface ReceiverDeps {
  sink: DatagramSink;
  stats: ReceiverStats;
  logger: Logger;
  clock: Clock;
  /** The daemon's HTTP server, for receivers that take data over HTTP; absent when `web-addr` is off. */
  routes?: RouteRegistry;
  /** Called once bound with the socket's effective receive buffer, where it has one. */
  onReceiveBuffer?: (bytes: number) => void;
}

/**
 * ReceiverFactory pairs a receiver type with its settings and constructor, like a
 * BackendFactory. Receivers read top-level keys (`metrics-addr`, `tcp-addr`, … as in
 * gostatsd), declared in `rows` (flags, `GSD_` variables, --help and the docs come from
 * them) and named per settings field in `keys`; all of them need a restart to change.
 * `validate` reads them through `read` (the row's type, bounds and default apply) and never
 * throws: problems go to `read.c`; it returns the settings, or undefined when this
 * receiver is switched off. Settings compare by value: a receiver whose settings
 * did not change is never restarted.
 */
export interface ReceiverFactory<C> {
  readonly type: string;
  /** One line for docs. */
  readonly description: string;
  /**
   * The top-level config key of each field of `C` (for reload reports); the first is the
   * one that switches the receiver on.
   */
  readonly keys: { readonly [F in keyof C]-?: string };
  /** The top-level keys this receiver reads, declared once here. */
  readonly rows: readonly KeySpec[];
  validate(read: KeyReader): C | undefined;
  create(config: C, deps: ReceiverDeps): Receiver;
}

/** `::ffff:10.0.0.5` → `10.0.0.5`, the form the reference shows for IPv4 senders. */
export function normaliseSourceAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
