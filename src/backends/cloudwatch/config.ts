import { Checker } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';

/**
 * CloudwatchConfig is the `[cloudwatch]` section. Credentials are never configured here:
 * the AWS SDK finds them (environment, the web-identity token file of EKS IRSA, an
 * instance or task role).
 */
export interface CloudwatchConfig {
  /** `namespace` (default `StatsD`). */
  namespace: string;
  /** `region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`. */
  region: string;
  /** `endpoint`: another CloudWatch endpoint (a VPC endpoint, a test double); '' = AWS's. */
  endpoint: string;
  /** `max_retries`: SDK retries per request (default 3). */
  maxRetries: number;
  /** `client_timeout`: per attempt (ms, default 9 s). */
  clientTimeoutMs: number;
}

export const CLOUDWATCH_KEYS = [
  'namespace',
  'region',
  'endpoint',
  'max_retries',
  'client_timeout',
  'batch-duration',
  'transport',
] as const;

/** Validates a raw `[cloudwatch]` section. */
export function validateCloudwatchConfig(
  raw: unknown,
  path: string,
  issues: ConfigIssue[],
  env: NodeJS.ProcessEnv = process.env,
): CloudwatchConfig {
  const c = new Checker(issues);
  const s = c.section(raw, path) ?? {};
  c.unknownKeys(s, CLOUDWATCH_KEYS, path);
  const namespace = c.string(s['namespace'], `${path}.namespace`, 'StatsD').trim();
  if (namespace === '' || namespace.startsWith('AWS/') || namespace.length > 255)
    c.error(`${path}.namespace`, 'must be 1-255 characters and not start with "AWS/"');
  const region = c.string(s['region'], `${path}.region`, env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? '').trim();
  if (region === '') c.error(`${path}.region`, 'required: the AWS region (or set AWS_REGION)');
  else if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    c.error(`${path}.region`, `"${region}" is not an AWS region such as eu-west-1`);
  const endpoint = c.url(s['endpoint'], `${path}.endpoint`);
  // Later gostatsd versions batch by time and name a transport section: accepted, no effect
  // (each flush is sent at once, in batches of 20).
  if (s['batch-duration'] !== undefined) c.duration(s['batch-duration'], `${path}.batch-duration`, 50, 0);
  if (s['transport'] !== undefined)
    c.warn(`${path}.transport`, 'gostatsd transport sections have no effect; client_timeout sets the timeout');
  return {
    namespace,
    region,
    endpoint,
    maxRetries: c.int(s['max_retries'], `${path}.max_retries`, 3, 0, 20),
    clientTimeoutMs: c.duration(s['client_timeout'], `${path}.client_timeout`, 9000, 10),
  };
}
