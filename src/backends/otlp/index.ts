import type { BackendFactory } from '../backend.js';
import { OTLP_KEYS, validateOtlpConfig, type OtlpConfig } from './config.js';
import type * as Implementation from './otlp-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './otlp-backend.js');

/** Factory of the `otlp` backend: OTLP/HTTP metrics and logs, with gostatsd's `otlp` keys. */
export const otlpBackendFactory = {
  type: 'otlp',
  keys: OTLP_KEYS,
  description: 'OpenTelemetry OTLP/HTTP (protobuf or JSON): metrics to /v1/metrics, events as logs to /v1/logs',
  readsSharedSettings: true,
  defaultConfig: () => validateOtlpConfig({ metrics_endpoint: 'http://127.0.0.1:4318' }, 'otlp', []),
  validate: validateOtlpConfig,
  create: (config, shared, deps) => new (implementation().OtlpBackend)(config, shared, deps),
} satisfies BackendFactory<OtlpConfig>;
