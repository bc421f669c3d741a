import type { BackendFactory } from '../backend.js';
import type * as Implementation from './cloudwatch-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';
import { CLOUDWATCH_KEYS, validateCloudwatchConfig, type CloudwatchConfig } from './config.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './cloudwatch-backend.js');

/** Factory of the `cloudwatch` backend: PutMetricData through the AWS SDK, as gostatsd's cloudwatch backend. */
export const cloudwatchBackendFactory = {
  type: 'cloudwatch',
  keys: CLOUDWATCH_KEYS,
  description: 'AWS CloudWatch PutMetricData through the AWS SDK (SigV4, credentials from env, IRSA or instance role)',
  defaultConfig: () => validateCloudwatchConfig({ region: 'us-east-1' }, 'cloudwatch', []),
  validate: (raw, path, issues) => validateCloudwatchConfig(raw, path, issues),
  create: (config, _shared, deps) => new (implementation().CloudwatchBackend)(config, deps),
} satisfies BackendFactory<CloudwatchConfig>;
