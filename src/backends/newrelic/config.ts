import { readFileSync } from 'node:fs';
import { Checker } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';

/** The attribute names of the `[newrelic]` section (gostatsd's keys and defaults). */
export interface NewRelicAttributes {
  metricName: string;
  metricType: string;
  perSecond: string;
  value: string;
  timerMin: string;
  timerMax: string;
  timerCount: string;
  timerMean: string;
  timerMedian: string;
  timerStdDev: string;
  timerSum: string;
  timerSumSquare: string;
}

/** NewRelicConfig is the `[newrelic]` section. */
export interface NewRelicConfig {
  /**
   * `address`: the Infrastructure agent's HTTP integration endpoint (default
   * `http://localhost:8001/v1/data`), or, with an API key, the Insights insert API
   * (`https://insights-collector.newrelic.com/v1/accounts/<id>/events`).
   */
  address: string;
  /** `api-key` (or the content of `api-key-file`): the Insights insert key; '' targets the Infrastructure agent. */
  apiKey: string;
  /** `event-type` (default `GoStatsD`). */
  eventType: string;
  /** `tag-prefix`: put before each tag's attribute name (default none). */
  tagPrefix: string;
  attributes: NewRelicAttributes;
  /** `client_timeout` (ms, default 9 s), `max_request_elapsed_time` (ms, default 15 s). */
  clientTimeoutMs: number;
  maxRequestElapsedMs: number;
  /** `metrics_per_batch`: metrics per request (default 1,000). */
  metricsPerBatch: number;
}

const ATTRIBUTE_KEYS: Record<keyof NewRelicAttributes, [string, string]> = {
  metricName: ['metric-name', 'name'],
  metricType: ['metric-type', 'type'],
  perSecond: ['per-second', 'per_second'],
  value: ['value', 'value'],
  timerMin: ['timer-min', 'min'],
  timerMax: ['timer-max', 'max'],
  timerCount: ['timer-count', 'samples_count'],
  timerMean: ['timer-mean', 'samples_mean'],
  timerMedian: ['timer-median', 'samples_median'],
  timerStdDev: ['timer-stddev', 'samples_std_dev'],
  timerSum: ['timer-sum', 'samples_sum'],
  timerSumSquare: ['timer-sumsquare', 'samples_sum_squares'],
};

export const NEWRELIC_KEYS = [
  'address',
  'api-key',
  'api-key-file',
  'event-type',
  'tag-prefix',
  'client_timeout',
  'max_request_elapsed_time',
  'metrics_per_batch',
  'flush-type',
  'transport',
  'address-metrics',
  ...Object.values(ATTRIBUTE_KEYS).map(([k]) => k),
] as const;

/** Validates a raw `[newrelic]` section; the API key is never part of a message. */
export function validateNewRelicConfig(raw: unknown, path: string, issues: ConfigIssue[]): NewRelicConfig {
  const c = new Checker(issues);
  const s = c.section(raw, path) ?? {};
  c.unknownKeys(s, NEWRELIC_KEYS, path, { api_key: 'api-key', event_type: 'event-type' });
  const address = c.url(s['address'] ?? 'http://localhost:8001/v1/data', `${path}.address`);
  let apiKey = c.string(s['api-key'], `${path}.api-key`, '').trim();
  const keyFile = c.string(s['api-key-file'], `${path}.api-key-file`, '').trim();
  if (apiKey !== '' && keyFile !== '') c.error(`${path}.api-key-file`, 'set either api-key or api-key-file, not both');
  else if (keyFile !== '') {
    try {
      apiKey = readFileSync(keyFile, 'utf8').trim();
      if (apiKey === '') c.error(`${path}.api-key-file`, `"${keyFile}" is empty`);
    } catch {
      c.error(`${path}.api-key-file`, `cannot read "${keyFile}"`);
    }
  }
  if (apiKey !== '' && !/^[A-Za-z0-9_-]+$/.test(apiKey)) c.error(`${path}.api-key`, 'is not a New Relic insert key');
  if (apiKey === '' && keyFile === '' && address.includes('insights-collector'))
    c.error(`${path}.api-key`, 'required by the Insights insert API (api-key or api-key-file)');
  // gostatsd picks the target from the address unless `flush-type` says; this daemon speaks
  // the Infrastructure agent's payload, or the Insights API's when there is an insert key.
  if (typeof s['flush-type'] === 'string' && s['flush-type'].trim().toLowerCase() === 'metrics')
    c.error(`${path}.flush-type`, '"metrics" (the Metric API) is not provided; use "infra" or "insights"');
  const flushType = c.oneOf(s['flush-type'], `${path}.flush-type`, ['', 'infra', 'insights'], '');
  if (flushType === 'insights' && apiKey === '' && keyFile === '')
    c.error(`${path}.api-key`, 'flush-type "insights" needs api-key or api-key-file');
  else if (flushType === 'infra' && (apiKey !== '' || keyFile !== ''))
    c.error(`${path}.flush-type`, '"infra" (the Infrastructure agent) takes no api-key');
  if (s['address-metrics'] !== undefined)
    c.warn(`${path}.address-metrics`, 'the Metric API target is not provided; metrics go to address');
  if (s['transport'] !== undefined)
    c.warn(`${path}.transport`, 'gostatsd transport sections have no effect; client_timeout sets the timeout');
  const attributes = Object.fromEntries(
    Object.entries(ATTRIBUTE_KEYS).map(([field, [key, d]]) => [field, c.string(s[key], `${path}.${key}`, d).trim()]),
  ) as unknown as NewRelicAttributes;
  return {
    address,
    apiKey,
    eventType: c.string(s['event-type'], `${path}.event-type`, 'GoStatsD').trim(),
    tagPrefix: c.string(s['tag-prefix'], `${path}.tag-prefix`, ''),
    attributes,
    clientTimeoutMs: c.duration(s['client_timeout'], `${path}.client_timeout`, 9000, 10),
    maxRequestElapsedMs: c.duration(s['max_request_elapsed_time'], `${path}.max_request_elapsed_time`, 15_000, 0),
    metricsPerBatch: c.int(s['metrics_per_batch'], `${path}.metrics_per_batch`, 1000, 1, 1_000_000),
  };
}
