import { NETWORKS, type Network } from '../shared/http-delivery.js';
import { Checker } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';

/**
 * ForwarderConfig is the `[forwarder]` section, which takes gostatsd's `[http-transport]`
 * keys (a gostatsd `[http-transport]` section is read as `[forwarder]`) plus the limits
 * of this daemon.
 */
export interface ForwarderConfig {
  /**
   * `api-endpoint`: base URL of the aggregation tier; `/v2/raw` and `/v2/event` are
   * appended. Several (a list) shard the tier: each metric name goes to one of them, by
   * a hash of the name, so every series is aggregated in one place.
   */
  apiEndpoints: string[];
  /** `client-timeout`: longest connect, and longest wait for the answer's headers and body, per attempt (ms). */
  clientTimeoutMs: number;
  /** `compress`: send bodies as zlib streams (`Content-Encoding: deflate`). */
  compress: boolean;
  /** `enable-http2`: offer HTTP/2 over TLS. */
  http2: boolean;
  /** `max-requests`: requests in flight at once. */
  maxRequests: number;
  /** `max-request-elapsed-time`: how long a request is retried before its data is dropped (ms). */
  maxRequestElapsedMs: number;
  /** `network`: `tcp` (either family), `tcp4` or `tcp6`. */
  network: Network;
  /** `flush-interval`: how often held data is posted (ms); intervals in between are merged. */
  flushIntervalMs: number;
  /** `ca-file`: PEM CA bundle to trust for an https endpoint ('' = the system's). */
  caFile: string;
  /** `max-pending-size`: bound on data held for delivery, in bytes (estimated heap). */
  maxPendingBytes: number;
  /** `max-series-per-request`: a larger interval is split into several requests. */
  maxSeriesPerRequest: number;
}

/** gostatsd's `[http-transport]` keys. */
export const HTTP_TRANSPORT_KEYS = [
  'api-endpoint',
  'client-timeout',
  'compress',
  'enable-http2',
  'max-requests',
  'max-request-elapsed-time',
  'network',
  'consolidator-slots',
  'flush-interval',
] as const;

/** Keys of `[forwarder]`: gostatsd's and this daemon's. */
export const FORWARDER_KEYS = [
  ...HTTP_TRANSPORT_KEYS,
  'ca-file',
  'max-pending-size',
  'max-series-per-request',
] as const;

/** Validates a raw `[forwarder]` (or `[http-transport]`) section. */
export function validateForwarderConfig(raw: unknown, path: string, issues: ConfigIssue[]): ForwarderConfig {
  const c = new Checker(issues);
  const s = c.section(raw, path) ?? {};
  c.unknownKeys(s, FORWARDER_KEYS, path);
  const apiEndpoints = c.list(s['api-endpoint'], `${path}.api-endpoint`, []);
  if (apiEndpoints.length === 0)
    c.error(
      `${path}.api-endpoint`,
      'required: the base URL of the aggregation tier, e.g. http://statsd-aggregator:8080',
    );
  apiEndpoints.forEach((e, i) =>
    c.url(e, apiEndpoints.length === 1 ? `${path}.api-endpoint` : `${path}.api-endpoint[${i}]`, {
      base: true,
      example: 'http://statsd-aggregator:8080',
    }),
  );
  if (new Set(apiEndpoints).size !== apiEndpoints.length)
    c.error(`${path}.api-endpoint`, 'an endpoint is listed twice');
  const network = c.oneOf(s['network'], `${path}.network`, NETWORKS, 'tcp');
  if (s['consolidator-slots'] !== undefined) c.int(s['consolidator-slots'], `${path}.consolidator-slots`, 1, 1, 1024);
  const caFile = c.file(s['ca-file'], `${path}.ca-file`);
  return {
    apiEndpoints,
    clientTimeoutMs: c.duration(s['client-timeout'], `${path}.client-timeout`, 10_000, 10),
    compress: c.bool(s['compress'], `${path}.compress`, true),
    http2: c.bool(s['enable-http2'], `${path}.enable-http2`, false),
    maxRequests: c.int(s['max-requests'], `${path}.max-requests`, 1000, 1, 100_000),
    maxRequestElapsedMs: c.duration(s['max-request-elapsed-time'], `${path}.max-request-elapsed-time`, 30_000, 0),
    network,
    flushIntervalMs: c.duration(s['flush-interval'], `${path}.flush-interval`, 1000, 10),
    caFile,
    maxPendingBytes: c.bytes(
      s['max-pending-size'],
      `${path}.max-pending-size`,
      64 * 1024 ** 2,
      64 * 1024,
      64 * 1024 ** 3,
    ),
    maxSeriesPerRequest: c.int(s['max-series-per-request'], `${path}.max-series-per-request`, 20_000, 1, 10_000_000),
  };
}
