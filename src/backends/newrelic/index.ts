import type { BackendFactory } from '../backend.js';
import { NEWRELIC_KEYS, validateNewRelicConfig, type NewRelicConfig } from './config.js';
import { NewRelicBackend } from './newrelic-backend.js';

/** Factory of the `newrelic` backend: the Infrastructure agent or the Insights insert API, as gostatsd's. */
export const newRelicBackendFactory = {
  type: 'newrelic',
  keys: NEWRELIC_KEYS,
  description:
    "New Relic metric events to the Infrastructure agent or the Insights insert API, as gostatsd's newrelic backend",
  defaultConfig: () => validateNewRelicConfig(undefined, 'newrelic', []),
  validate: validateNewRelicConfig,
  create: (config, _shared, deps) => new NewRelicBackend(config, deps),
} satisfies BackendFactory<NewRelicConfig>;
