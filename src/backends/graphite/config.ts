import { Checker } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';

/** GraphiteConfig is the `[graphite]` section (gostatsd's keys, plus `mode`). */
export interface GraphiteConfig {
  /** `address`: carbon's plaintext receiver, `host:port` (default `localhost:2003`). */
  host: string;
  port: number;
  /** `dial_timeout` (ms, default 5 s). */
  dialTimeoutMs: number;
  /** `write_timeout` (ms, default 30 s). */
  writeTimeoutMs: number;
  /**
   * `legacy_namespace` (default true), or `mode = "legacy"`: statsd's `stats_counts.`,
   * `stats.timers.`, … paths; `mode = "basic"` or `"tags"` turn it off.
   */
  legacyNamespace: boolean;
  /** `global_prefix`, `prefix_counter`, `prefix_timer`, `prefix_gauge`, `prefix_set`, `global_suffix` (without the legacy namespace). */
  globalPrefix: string;
  prefixCounter: string;
  prefixTimer: string;
  prefixGauge: string;
  prefixSet: string;
  globalSuffix: string;
  /** Graphite 1.1 tagged series (`path;tag=value`), with `mode = "tags"`; otherwise tags and host are dropped. */
  tagged: boolean;
}

export const GRAPHITE_KEYS = [
  'address',
  'dial_timeout',
  'write_timeout',
  'legacy_namespace',
  'global_prefix',
  'prefix_counter',
  'prefix_timer',
  'prefix_gauge',
  'prefix_set',
  'global_suffix',
  'mode',
  'prefix_sets',
] as const;

/** Validates a raw `[graphite]` section. */
export function validateGraphiteConfig(raw: unknown, path: string, issues: ConfigIssue[]): GraphiteConfig {
  const c = new Checker(issues);
  const s = c.section(raw, path) ?? {};
  c.unknownKeys(s, GRAPHITE_KEYS, path, { 'dial-timeout': 'dial_timeout', 'write-timeout': 'write_timeout' });
  const hp = c.hostPort(s['address'] ?? 'localhost:2003', `${path}.address`, { required: true });
  // gostatsd 15 had legacy_namespace; later versions name the same choice `mode`.
  const mode = c.oneOf(s['mode'], `${path}.mode`, ['', 'legacy', 'basic', 'tags'], '');
  if (mode !== '' && s['legacy_namespace'] !== undefined)
    c.error(`${path}.legacy_namespace`, 'set either mode or legacy_namespace, not both');
  if (s['prefix_set'] !== undefined && s['prefix_sets'] !== undefined)
    c.error(`${path}.prefix_sets`, 'set either prefix_set or prefix_sets, not both');
  const str = (k: string, d: string): string => c.string(s[k], `${path}.${k}`, d).trim();
  return {
    host: hp?.host ?? '',
    port: hp?.port ?? 0,
    dialTimeoutMs: c.duration(s['dial_timeout'], `${path}.dial_timeout`, 5000, 1),
    writeTimeoutMs: c.duration(s['write_timeout'], `${path}.write_timeout`, 30_000, 1),
    legacyNamespace: mode === '' ? c.bool(s['legacy_namespace'], `${path}.legacy_namespace`, true) : mode === 'legacy',
    globalPrefix: str('global_prefix', 'stats'),
    prefixCounter: str('prefix_counter', 'counters'),
    prefixTimer: str('prefix_timer', 'timers'),
    prefixGauge: str('prefix_gauge', 'gauges'),
    prefixSet: s['prefix_sets'] !== undefined ? str('prefix_sets', 'sets') : str('prefix_set', 'sets'),
    globalSuffix: str('global_suffix', ''),
    tagged: mode === 'tags',
  };
}
