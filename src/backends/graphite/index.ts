import type { BackendFactory } from '../backend.js';
import { GRAPHITE_KEYS, validateGraphiteConfig, type GraphiteConfig } from './config.js';
import type * as Implementation from './graphite-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './graphite-backend.js');

/** Factory of the `graphite` backend: carbon's plaintext protocol, as gostatsd writes it. */
export const graphiteBackendFactory = {
  type: 'graphite',
  keys: GRAPHITE_KEYS,
  description: "carbon's plaintext protocol over TCP (path value timestamp), as gostatsd's graphite backend",
  readsSharedSettings: true,
  defaultConfig: () => validateGraphiteConfig(undefined, 'graphite', []),
  validate: validateGraphiteConfig,
  create: (config, shared, deps) => new (implementation().GraphiteBackend)(config, shared.disabledSubMetrics, deps),
} satisfies BackendFactory<GraphiteConfig>;
