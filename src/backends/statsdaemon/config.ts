import { Checker } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';

/** StatsdaemonConfig is the `[statsdaemon]` section (gostatsd's keys). */
export interface StatsdaemonConfig {
  /** `address` (required): the statsd to re-emit to, `host:port`. */
  host: string;
  port: number;
  /** `disable_tags`: leave out `|#<tags key>`. */
  disableTags: boolean;
  /** `tcp_transport`: newline-delimited lines over TCP instead of UDP packets. */
  tcp: boolean;
  /** `tls_transport`: TCP with TLS (1.2 or later); `tls_ca_path`, `tls_cert_path`, `tls_key_path`. */
  tls: boolean;
  tlsCaPath: string;
  tlsCertPath: string;
  tlsKeyPath: string;
  /** `client_timeout`: longest connect or write over TCP (ms, default 10 s). */
  clientTimeoutMs: number;
}

export const STATSDAEMON_KEYS = [
  'address',
  'disable_tags',
  'tcp_transport',
  'tls_transport',
  'tls_ca_path',
  'tls_cert_path',
  'tls_key_path',
  'client_timeout',
] as const;

/** Validates a raw `[statsdaemon]` section. */
export function validateStatsdaemonConfig(raw: unknown, path: string, issues: ConfigIssue[]): StatsdaemonConfig {
  const c = new Checker(issues);
  const s = c.section(raw, path) ?? {};
  c.unknownKeys(s, STATSDAEMON_KEYS, path);
  const hp = c.hostPort(s['address'], `${path}.address`, { required: true, example: 'statsd.example:8125' });
  const tls = c.bool(s['tls_transport'], `${path}.tls_transport`, false);
  const file = (k: string): string => c.file(s[k], `${path}.${k}`);
  const cert = file('tls_cert_path');
  const key = file('tls_key_path');
  if ((cert === '') !== (key === '')) c.error(`${path}.tls_cert_path`, 'tls_cert_path and tls_key_path go together');
  return {
    host: hp?.host ?? '',
    port: hp?.port ?? 0,
    disableTags: c.bool(s['disable_tags'], `${path}.disable_tags`, false),
    tcp: c.bool(s['tcp_transport'], `${path}.tcp_transport`, false) || tls,
    tls,
    tlsCaPath: file('tls_ca_path'),
    tlsCertPath: cert,
    tlsKeyPath: key,
    clientTimeoutMs: c.duration(s['client_timeout'], `${path}.client_timeout`, 10_000, 1),
  };
}
