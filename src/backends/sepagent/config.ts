import { Checker } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';
import { compileRe2 } from '../shared/re2.js';

/** The largest UDP payload over IPv4; every document the reference could send fits. */
export const MAX_UDP_PAYLOAD_BYTES = 65507;
/** The smallest accepted `max_datagram_bytes`: room for a document with one long item. */
export const MIN_DATAGRAM_BYTES = 512;

/** SepAgentConfig is the `[sepagent]` section. Keys keep the reference's snake_case. */
export interface SepAgentConfig {
  /** `host`: SepAgent's host name or IP; `''` means this machine (127.0.0.1). Re-resolved on reconnect. */
  host: string;
  /** `port`: SepAgent's UDP port, 1–65535. Required. */
  port: number;
  /** `sep_regexp`: RE2 pattern finding the SEP instance id inside the cluster match. Required. */
  sepRegexp: string;
  /** `cluster_regexp`: RE2 pattern finding the Envoy cluster in the metric name. Required. */
  clusterRegexp: string;
  /**
   * `max_datagram_bytes`: largest JSON document per datagram; bigger ones are split into
   * several valid documents for the same SEP. Default 65507 (the UDP maximum).
   */
  maxDatagramBytes: number;
}

/** Keys of the `[sepagent]` section. */
export const SEPAGENT_KEYS = ['host', 'port', 'sep_regexp', 'cluster_regexp', 'max_datagram_bytes'] as const;

/** Returns a fresh default config (port and regexps unset, hence invalid until configured). */
export function defaultSepAgentConfig(): SepAgentConfig {
  return { host: '', port: 0, sepRegexp: '', clusterRegexp: '', maxDatagramBytes: MAX_UDP_PAYLOAD_BYTES };
}

/**
 * Validates a raw `[sepagent]` section. Every problem is appended to `issues` with its
 * key path; the return value is usable only when no error was added.
 */
export function validateSepAgentConfig(raw: unknown, path: string, issues: ConfigIssue[]): SepAgentConfig {
  const c = new Checker(issues);
  const d = defaultSepAgentConfig();
  if (raw === undefined) {
    c.error(
      path,
      `the ${path} backend is enabled but the [${path}] section is missing (port, sep_regexp and cluster_regexp are required)`,
    );
    return d;
  }
  const s = c.section(raw, path);
  if (s === undefined) return d;
  c.unknownKeys(s, SEPAGENT_KEYS, path, {
    'sep-regexp': 'sep_regexp',
    'cluster-regexp': 'cluster_regexp',
    'max-datagram-bytes': 'max_datagram_bytes',
    address: 'host and port',
  });
  const cfg: SepAgentConfig = {
    host: c.string(s['host'], `${path}.host`, d.host).trim(),
    port: 0,
    sepRegexp: c.string(s['sep_regexp'], `${path}.sep_regexp`, ''),
    clusterRegexp: c.string(s['cluster_regexp'], `${path}.cluster_regexp`, ''),
    maxDatagramBytes: c.int(
      s['max_datagram_bytes'],
      `${path}.max_datagram_bytes`,
      d.maxDatagramBytes,
      MIN_DATAGRAM_BYTES,
      MAX_UDP_PAYLOAD_BYTES,
    ),
  };
  if (s['port'] === undefined) c.error(`${path}.port`, 'is required (SepAgent UDP port, 1-65535)');
  else cfg.port = c.int(s['port'], `${path}.port`, 0, 1, 65535);
  for (const [key, value] of [
    ['sep_regexp', cfg.sepRegexp],
    ['cluster_regexp', cfg.clusterRegexp],
  ] as const) {
    if (s[key] === undefined) {
      c.error(`${path}.${key}`, 'is required (an RE2 regular expression)');
    } else if (value === '') {
      c.error(`${path}.${key}`, 'must not be empty: an empty pattern matches nothing useful');
    } else {
      const re = compileRe2(value);
      if (typeof re === 'string')
        c.error(`${path}.${key}`, `invalid regular expression ${JSON.stringify(value)}: ${re}`);
    }
  }
  if (/\s/.test(cfg.host) || cfg.host.includes('/'))
    c.error(`${path}.host`, `"${cfg.host}" is not a host name or IP address`);
  return cfg;
}
