import { Checker } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';
import { readMapping, type MappingSettings } from '../prometheus/config.js';

/** RemoteWriteConfig is the `[prometheus-remote-write]` section. */
export interface RemoteWriteConfig extends MappingSettings {
  /** `url` (required): the receiver's write endpoint, e.g. `http://victoria:8428/api/v1/write`. */
  url: string;
  /** `username` and `password-file`: HTTP basic auth (the password is read from the file at each request). */
  username: string;
  passwordFile: string;
  /** `bearer-token-file`: `Authorization: Bearer <file content>`, read at each request. */
  bearerTokenFile: string;
  /** `headers`: extra request headers (e.g. `X-Scope-OrgID` for Mimir or Cortex). */
  headers: Record<string, string>;
  /** `counters`: `cumulative` (Prometheus counters, the default) or `per-interval` (gauges of each interval's sum). */
  counters: 'cumulative' | 'per-interval';
  /**
   * `timers`: `mapping` (histograms or summaries, as the mapping's `observer_type` says;
   * the default) or `sub-metrics` (gostatsd's per-interval statistics as gauges:
   * `<name>_lower`, `_upper`, `_count`, `_count_ps`, `_mean`, `_median`, `_std`, `_sum`,
   * `_sum_squares` and the percentile groups, such as `_upper_90`).
   */
  timers: 'mapping' | 'sub-metrics';
  /**
   * `send-native-histograms` (default false): a histogram whose mapping keeps a native
   * histogram (`native_histogram_bucket_factor`) is written as that native histogram, not
   * as classic `_bucket`, `_sum` and `_count` series. Only for receivers that store them
   * (Prometheus 2.40 and later with `--enable-feature=native-histograms`, Mimir).
   */
  sendNativeHistograms: boolean;
  /** `max-samples-per-request` (default 5,000). */
  maxSamplesPerRequest: number;
  /** `timeout`: per attempt (ms, default 10 s). */
  timeoutMs: number;
  /** `max-request-elapsed-time`: how long a write is retried (ms, default 60 s). */
  maxRequestElapsedMs: number;
  /** `ca-file`: PEM CA bundle for an https URL. */
  caFile: string;
}

export const REMOTE_WRITE_KEYS = [
  'url',
  'username',
  'password-file',
  'bearer-token-file',
  'headers',
  'mapping-config',
  'mapping',
  'counters',
  'timers',
  'send-native-histograms',
  'max-samples-per-request',
  'timeout',
  'max-request-elapsed-time',
  'ca-file',
] as const;

/** Headers this backend sets itself. */
const OWN_HEADERS = ['content-type', 'content-encoding', 'x-prometheus-remote-write-version', 'content-length', 'host'];

/** Validates a raw `[prometheus-remote-write]` section; secrets stay in their files. */
export function validateRemoteWriteConfig(raw: unknown, path: string, issues: ConfigIssue[]): RemoteWriteConfig {
  const c = new Checker(issues);
  const s = c.section(raw, path) ?? {};
  c.unknownKeys(s, REMOTE_WRITE_KEYS, path, { password: 'password-file', bearer_token: 'bearer-token-file' });
  const url = c.url(s['url'], `${path}.url`, {
    required: true,
    noCredentials: 'use username and password-file',
    example: 'http://victoria-metrics:8428/api/v1/write',
  });
  const file = (k: string): string => c.file(s[k], `${path}.${k}`);
  const username = c.string(s['username'], `${path}.username`, '');
  const passwordFile = file('password-file');
  const bearerTokenFile = file('bearer-token-file');
  if ((username === '') !== (passwordFile === ''))
    c.error(`${path}.username`, 'basic auth needs both username and password-file');
  if (username !== '' && bearerTokenFile !== '')
    c.error(`${path}.bearer-token-file`, 'use basic auth or a bearer token, not both');
  const headers = c.headers(
    s['headers'],
    `${path}.headers`,
    OWN_HEADERS,
    'use username/password-file or bearer-token-file for authorization',
  );
  const counters = c.oneOf(s['counters'], `${path}.counters`, ['cumulative', 'per-interval'], 'cumulative');
  const timers = c.oneOf(s['timers'], `${path}.timers`, ['mapping', 'sub-metrics'], 'mapping');
  const caFile = file('ca-file');
  return {
    url,
    username,
    passwordFile,
    bearerTokenFile,
    headers,
    counters: counters === 'per-interval' ? 'per-interval' : 'cumulative',
    timers: timers === 'sub-metrics' ? 'sub-metrics' : 'mapping',
    sendNativeHistograms: c.bool(s['send-native-histograms'], `${path}.send-native-histograms`, false),
    maxSamplesPerRequest: c.int(s['max-samples-per-request'], `${path}.max-samples-per-request`, 5000, 1, 1_000_000),
    timeoutMs: c.duration(s['timeout'], `${path}.timeout`, 10_000, 10),
    maxRequestElapsedMs: c.duration(s['max-request-elapsed-time'], `${path}.max-request-elapsed-time`, 60_000, 0),
    caFile,
    ...readMapping(c, s, path, issues),
  };
}
