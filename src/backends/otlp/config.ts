import os from 'node:os';
import { Checker, isPlainObject } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';

/** How timers are written (`conversion`). */
export const CONVERSIONS = ['AsExponentialHistogram', 'AsHistogram', 'AsGauge'] as const;
export type Conversion = (typeof CONVERSIONS)[number];

/** gostatsd's `disabled_timer_aggregations` (with `conversion = "AsGauge"`): the sub-metrics left out. */
export interface DisabledTimerAggregations {
  lower: boolean;
  upper: boolean;
  count: boolean;
  count_ps: boolean;
  mean: boolean;
  median: boolean;
  std: boolean;
  sum: boolean;
  sum_squares: boolean;
  /** Percentile entries by statistic (`countpct`, `meanpct`, …). */
  pct: { count: boolean; mean: boolean; sum: boolean; sum_squares: boolean; upper: boolean; lower: boolean };
}

/** OtlpConfig is the `[otlp]` section: gostatsd's `otlp` keys plus this daemon's own. */
export interface OtlpConfig {
  /** `metrics_endpoint` (or gostatsd's older `endpoint`): where metrics are posted. */
  metricsEndpoint: string;
  /** `logs_endpoint`: where events are posted, as OTLP log records. */
  logsEndpoint: string;
  /** `encoding`: `protobuf` (default) or `json` (OTLP/HTTP JSON). */
  encoding: 'protobuf' | 'json';
  /** `compress_payload`: gzip bodies (default true). */
  compress: boolean;
  /** `metrics_per_batch`: data points per request (default 1,000). */
  metricsPerBatch: number;
  /** `max_requests`: requests at once (default 2 × CPUs). */
  maxRequests: number;
  /** `max_retries`: retries of one request after its first attempt (default 3). */
  maxRetries: number;
  /** `max_request_elapsed_time`: how long one request is retried (ms; default 15 s; a bare number is seconds). */
  maxRequestElapsedMs: number;
  /** `client_timeout`: per attempt (ms; default 10 s). */
  clientTimeoutMs: number;
  /** `resource_keys`: tag names whose values go to the resource instead of each data point. */
  resourceKeys: string[];
  /** `resource_attributes`: static resource attributes (`service.name`, `deployment.environment`, …). */
  resourceAttributes: Record<string, string>;
  /** `conversion`: how timers are written. */
  conversion: Conversion;
  /** `histogram_buckets`: upper bounds of the explicit buckets with `conversion = "AsHistogram"` (default none). */
  histogramBuckets: number[];
  /** `disabled_timer_aggregations`: sub-metrics left out with `conversion = "AsGauge"`. */
  disabled: DisabledTimerAggregations;
  /** `user_agent` (default `statsd-sepagent`). */
  userAgent: string;
  /** `headers`: extra request headers (an API key header, a tenant). */
  headers: Record<string, string>;
  /** `event_title_attribute_key` (default `title`). */
  eventTitleKey: string;
  /** `event_properties_attribute_key` (default `properties`). */
  eventPropertiesKey: string;
  /** `ca_file`: PEM CA bundle for https endpoints. */
  caFile: string;
}

export const OTLP_KEYS = [
  'endpoint',
  'metrics_endpoint',
  'logs_endpoint',
  'encoding',
  'compress_payload',
  'metrics_per_batch',
  'max_requests',
  'max_retries',
  'max_request_elapsed_time',
  'client_timeout',
  'resource_keys',
  'resource_attributes',
  'conversion',
  'histogram_buckets',
  'disabled_timer_aggregations',
  'user_agent',
  'headers',
  'event_title_attribute_key',
  'event_category_attribute_key',
  'event_properties_attribute_key',
  'transport',
  'ca_file',
] as const;

/** gostatsd's `disabled_timer_aggregations` keys, and the field each sets. */
const DISABLED_KEYS: ReadonlyArray<readonly [string, (d: DisabledTimerAggregations) => void]> = [
  ['lower', (d) => (d.lower = true)],
  ['upper', (d) => (d.upper = true)],
  ['count', (d) => (d.count = true)],
  ['countpersecond', (d) => (d.count_ps = true)],
  ['mean', (d) => (d.mean = true)],
  ['median', (d) => (d.median = true)],
  ['stddev', (d) => (d.std = true)],
  ['sum', (d) => (d.sum = true)],
  ['sumsquares', (d) => (d.sum_squares = true)],
  ['lowerpct', (d) => (d.pct.lower = true)],
  ['upperpct', (d) => (d.pct.upper = true)],
  ['countpct', (d) => (d.pct.count = true)],
  ['meanpct', (d) => (d.pct.mean = true)],
  ['sumpct', (d) => (d.pct.sum = true)],
  ['sumsquarespct', (d) => (d.pct.sum_squares = true)],
];

/** Headers this backend sets itself. */
const OWN_HEADERS = ['content-type', 'content-encoding', 'content-length', 'host', 'user-agent'];

/** The URL of `signal` (`metrics`, `logs`) under a base URL without a path, as OTLP exporters do. */
function signalUrl(url: string, signal: string): string {
  const u = new URL(url);
  return u.pathname === '/' || u.pathname === '' ? `${u.origin}/v1/${signal}${u.search}` : url;
}

/**
 * Validates a raw `[otlp]` section. `metrics_endpoint` (or `endpoint`) is required; a URL
 * without a path gets OTLP's `/v1/metrics`. `logs_endpoint` defaults to the metrics URL
 * with `/v1/metrics` made `/v1/logs`.
 */
export function validateOtlpConfig(raw: unknown, path: string, issues: ConfigIssue[]): OtlpConfig {
  const c = new Checker(issues);
  const s = c.section(raw, path) ?? {};
  c.unknownKeys(s, OTLP_KEYS, path, {
    'metrics-endpoint': 'metrics_endpoint',
    'logs-endpoint': 'logs_endpoint',
    'resource-keys': 'resource_keys',
  });
  const example = 'http://otel-collector:4318/v1/metrics';
  if (s['endpoint'] !== undefined && s['metrics_endpoint'] !== undefined)
    c.error(`${path}.endpoint`, 'set metrics_endpoint or endpoint (its older name), not both');
  const metricsKey = s['metrics_endpoint'] !== undefined ? 'metrics_endpoint' : 'endpoint';
  let metricsEndpoint = c.url(s[metricsKey], `${path}.metrics_endpoint`, {
    required: true,
    noCredentials: 'use headers',
    example,
  });
  let logsEndpoint = c.url(s['logs_endpoint'], `${path}.logs_endpoint`, { noCredentials: 'use headers' });
  if (issues.every((i) => i.severity !== 'error' || !i.path.endsWith('_endpoint'))) {
    if (metricsEndpoint !== '') metricsEndpoint = signalUrl(metricsEndpoint, 'metrics');
    if (logsEndpoint !== '') logsEndpoint = signalUrl(logsEndpoint, 'logs');
    else if (/\/v1\/metrics\/?$/.test(new URL(metricsEndpoint || 'http://x/').pathname))
      logsEndpoint = metricsEndpoint.replace(/\/v1\/metrics(\/?)(\?|$)/, '/v1/logs$1$2');
    else if (metricsEndpoint !== '')
      c.error(`${path}.logs_endpoint`, 'required when metrics_endpoint does not end in /v1/metrics');
  }
  const disabled: DisabledTimerAggregations = {
    lower: false,
    upper: false,
    count: false,
    count_ps: false,
    mean: false,
    median: false,
    std: false,
    sum: false,
    sum_squares: false,
    pct: { count: false, mean: false, sum: false, sum_squares: false, upper: false, lower: false },
  };
  const d = c.section(s['disabled_timer_aggregations'], `${path}.disabled_timer_aggregations`) ?? {};
  c.unknownKeys(
    d,
    DISABLED_KEYS.map(([k]) => k),
    `${path}.disabled_timer_aggregations`,
  );
  for (const [k, set] of DISABLED_KEYS)
    if (c.bool(d[k], `${path}.disabled_timer_aggregations.${k}`, false)) set(disabled);
  const resourceAttributes: Record<string, string> = {};
  const ra = c.section(s['resource_attributes'], `${path}.resource_attributes`) ?? {};
  for (const [k, v] of Object.entries(ra)) {
    if (k === '') c.error(`${path}.resource_attributes`, 'an attribute name must not be empty');
    else if (isPlainObject(v) || Array.isArray(v))
      c.error(`${path}.resource_attributes.${k}`, 'must be a string, number or boolean');
    else resourceAttributes[k] = c.string(v, `${path}.resource_attributes.${k}`, '');
  }
  const rawBuckets = s['histogram_buckets'];
  const buckets: unknown[] = Array.isArray(rawBuckets)
    ? rawBuckets
    : typeof rawBuckets === 'string' || typeof rawBuckets === 'number'
      ? String(rawBuckets)
          .split(/[\s,]+/)
          .filter((b) => b !== '')
      : rawBuckets === undefined
        ? []
        : [rawBuckets];
  const histogramBuckets: number[] = [];
  for (const b of buckets) {
    const n = typeof b === 'number' || typeof b === 'string' ? Number(b) : NaN;
    if (!Number.isFinite(n)) c.error(`${path}.histogram_buckets`, `${JSON.stringify(b)} is not a finite number`);
    else if (histogramBuckets.length > 0 && n <= histogramBuckets.at(-1)!)
      c.error(`${path}.histogram_buckets`, 'bounds must be strictly increasing');
    else histogramBuckets.push(n);
  }
  if (s['transport'] !== undefined)
    c.warn(`${path}.transport`, 'gostatsd transport sections have no effect; client_timeout sets the timeout');
  if (s['event_category_attribute_key'] !== undefined)
    c.warn(`${path}.event_category_attribute_key`, 'has no effect: events carry no category');
  const elapsed = s['max_request_elapsed_time'];
  return {
    metricsEndpoint,
    logsEndpoint,
    encoding: c.oneOf(s['encoding'], `${path}.encoding`, ['protobuf', 'json'], 'protobuf'),
    compress: c.bool(s['compress_payload'], `${path}.compress_payload`, true),
    metricsPerBatch: c.int(s['metrics_per_batch'], `${path}.metrics_per_batch`, 1000, 1, 1_000_000),
    maxRequests: c.int(s['max_requests'], `${path}.max_requests`, 2 * os.availableParallelism(), 1, 10_000),
    maxRetries: c.int(s['max_retries'], `${path}.max_retries`, 3, 0, 1000),
    // gostatsd's value is a number of seconds; a Go duration is taken too.
    maxRequestElapsedMs: c.duration(elapsed, `${path}.max_request_elapsed_time`, 15_000, 0),
    clientTimeoutMs: c.duration(s['client_timeout'], `${path}.client_timeout`, 10_000, 10),
    resourceKeys: c.list(s['resource_keys'], `${path}.resource_keys`, []),
    resourceAttributes,
    conversion: c.oneOf(s['conversion'], `${path}.conversion`, CONVERSIONS, 'AsExponentialHistogram', true),
    histogramBuckets,
    disabled,
    userAgent: c.string(s['user_agent'], `${path}.user_agent`, 'statsd-sepagent'),
    headers: c.headers(s['headers'], `${path}.headers`, OWN_HEADERS, 'the backend sets it'),
    eventTitleKey: c.string(s['event_title_attribute_key'], `${path}.event_title_attribute_key`, 'title'),
    eventPropertiesKey: c.string(
      s['event_properties_attribute_key'],
      `${path}.event_properties_attribute_key`,
      'properties',
    ),
    caFile: c.file(s['ca_file'], `${path}.ca_file`),
  };
}
