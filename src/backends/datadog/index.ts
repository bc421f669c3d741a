import type { BackendFactory } from '../backend.js';
import { DATADOG_KEYS, validateDatadogConfig, type DatadogConfig } from './config.js';
import type * as Implementation from './datadog-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';
import { EnvoyTagExtractor } from '../../shared/envoy-tags.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './datadog-backend.js');

/** Factory of the `datadog` backend: Datadog's v1 series API, as gostatsd's datadog backend. */
export const datadogBackendFactory = {
  type: 'datadog',
  keys: DATADOG_KEYS,
  description: "Datadog's v1 series API (zlib JSON batches), as gostatsd's datadog backend",
  defaultConfig: () => validateDatadogConfig({ api_key: 'unset' }, 'datadog', []),
  validate: (raw, path, issues) => validateDatadogConfig(raw, path, issues),
  readsSharedSettings: true,
  create: (config, shared, deps) =>
    new (implementation().DatadogBackend)(config, deps, new EnvoyTagExtractor(shared.envoyTagExtraction)),
} satisfies BackendFactory<DatadogConfig>;
