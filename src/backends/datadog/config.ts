import { readFileSync } from 'node:fs';
import os from 'node:os';
import { NETWORKS, type Network } from '../shared/http-delivery.js';
import { Checker } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';

/** DatadogConfig is the `[datadog]` section (gostatsd's keys, plus `api_key_file`). */
export interface DatadogConfig {
  /** `api_key`, or the content of `api_key_file`, or the `DD_API_KEY` environment variable. */
  apiKey: string;
  /** `api_endpoint` (default `https://app.datadoghq.com`); `/api/v1/series` and `/api/v1/events` are appended. */
  apiEndpoint: string;
  /** `user_agent` (gostatsd's default mimics dogstatsd). */
  userAgent: string;
  /** `metrics_per_batch`: series per request (default 1,000). */
  metricsPerBatch: number;
  /** `compress_payload`: zlib bodies (`Content-Encoding: deflate`, default true). */
  compress: boolean;
  /** `max_requests`: requests at once (default 2 × CPUs). */
  maxRequests: number;
  /** `client_timeout` (ms, default 9 s) per attempt. */
  clientTimeoutMs: number;
  /** `max_request_elapsed_time` (ms, default 15 s): retries of one request. */
  maxRequestElapsedMs: number;
  /** `network`: `tcp`, `tcp4` or `tcp6`. */
  network: Network;
}

export const DATADOG_KEYS = [
  'api_key',
  'api_key_file',
  'api_endpoint',
  'user_agent',
  'metrics_per_batch',
  'compress_payload',
  'max_requests',
  'client_timeout',
  'max_request_elapsed_time',
  'network',
  'transport',
] as const;

/** The environment variable Datadog's own agents read the API key from. */
export const API_KEY_ENV = 'DD_API_KEY';

/**
 * Validates a raw `[datadog]` section. The key may be written in the section, read from
 * `api_key_file` (a mounted Secret) or from `DD_API_KEY`; a missing key is an error naming
 * `api_key`. No message ever contains the key.
 */
export function validateDatadogConfig(
  raw: unknown,
  path: string,
  issues: ConfigIssue[],
  env: NodeJS.ProcessEnv = process.env,
): DatadogConfig {
  const c = new Checker(issues);
  const s = c.section(raw, path) ?? {};
  c.unknownKeys(s, DATADOG_KEYS, path, { 'api-key': 'api_key', 'api-endpoint': 'api_endpoint' });
  let apiKey = c.string(s['api_key'], `${path}.api_key`, '').trim();
  const keyFile = c.string(s['api_key_file'], `${path}.api_key_file`, '').trim();
  if (apiKey !== '' && keyFile !== '') c.error(`${path}.api_key_file`, 'set either api_key or api_key_file, not both');
  else if (keyFile !== '') {
    try {
      apiKey = readFileSync(keyFile, 'utf8').trim();
      if (apiKey === '') c.error(`${path}.api_key_file`, `"${keyFile}" is empty`);
    } catch {
      c.error(`${path}.api_key_file`, `cannot read "${keyFile}"`);
    }
  } else if (apiKey === '') apiKey = (env[API_KEY_ENV] ?? '').trim();
  if (apiKey === '' && keyFile === '')
    c.error(`${path}.api_key`, `required: the Datadog API key (api_key, api_key_file, or ${API_KEY_ENV})`);
  else if (apiKey !== '' && !/^[A-Za-z0-9]+$/.test(apiKey))
    c.error(`${path}.api_key`, 'is not a Datadog API key (letters and digits only)');
  const apiEndpoint = c.url(s['api_endpoint'] ?? 'https://app.datadoghq.com', `${path}.api_endpoint`);
  const network = c.oneOf(s['network'], `${path}.network`, NETWORKS, 'tcp');
  if (s['transport'] !== undefined)
    c.warn(`${path}.transport`, 'gostatsd transport sections have no effect; client_timeout sets the timeout');
  return {
    apiKey,
    apiEndpoint,
    userAgent: c.string(s['user_agent'], `${path}.user_agent`, 'python-requests/2.6.0 CPython/2.7.10'),
    metricsPerBatch: c.int(s['metrics_per_batch'], `${path}.metrics_per_batch`, 1000, 1, 1_000_000),
    compress: c.bool(s['compress_payload'], `${path}.compress_payload`, true),
    maxRequests: c.int(s['max_requests'], `${path}.max_requests`, 2 * os.availableParallelism(), 1, 10_000),
    clientTimeoutMs: c.duration(s['client_timeout'], `${path}.client_timeout`, 9000, 10),
    maxRequestElapsedMs: c.duration(s['max_request_elapsed_time'], `${path}.max_request_elapsed_time`, 15_000, 0),
    network,
  };
}
