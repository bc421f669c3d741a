import type { BackendFactory } from '../backend.js';
import { CloudwatchBackend } from './cloudwatch-backend.js';
import { CLOUDWATCH_KEYS, validateCloudwatchConfig, type CloudwatchConfig } from './config.js';

/** Factory of the `cloudwatch` backend: PutMetricData through the AWS SDK, as gostatsd's cloudwatch backend. */
export const cloudwatchBackendFactory = {
  type: 'cloudwatch',
  keys: CLOUDWATCH_KEYS,
  description: 'AWS CloudWatch PutMetricData through the AWS SDK (SigV4, credentials from env, IRSA or instance role)',
  defaultConfig: () => validateCloudwatchConfig({ region: 'us-east-1' }, 'cloudwatch', []),
  validate: (raw, path, issues) => validateCloudwatchConfig(raw, path, issues),
  create: (config, _shared, deps) => new CloudwatchBackend(config, deps),
} satisfies BackendFactory<CloudwatchConfig>;
