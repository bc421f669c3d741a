import type { BackendFactory } from '../backend.js';
import { NEWRELIC_KEYS, validateNewRelicConfig, type NewRelicConfig } from './config.js';
import type * as Implementation from './newrelic-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './newrelic-backend.js');

/** Factory of the `newrelic` backend: the Infrastructure agent or the Insights insert API, as gostatsd's. */
export const newRelicBackendFactory = {
  type: 'newrelic',
  keys: NEWRELIC_KEYS,
  description:
    "New Relic metric events to the Infrastructure agent or the Insights insert API, as gostatsd's newrelic backend",
  defaultConfig: () => validateNewRelicConfig(undefined, 'newrelic', []),
  validate: validateNewRelicConfig,
  create: (config, _shared, deps) => new (implementation().NewRelicBackend)(config, deps),
} satisfies BackendFactory<NewRelicConfig>;
