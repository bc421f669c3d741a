import type { BackendFactory } from '../backend.js';
import { GRAPHITE_KEYS, validateGraphiteConfig, type GraphiteConfig } from './config.js';
import { GraphiteBackend } from './graphite-backend.js';

/** Factory of the `graphite` backend: carbon's plaintext protocol, as gostatsd writes it. */
export const graphiteBackendFactory = {
  type: 'graphite',
  keys: GRAPHITE_KEYS,
  description: "carbon's plaintext protocol over TCP (path value timestamp), as gostatsd's graphite backend",
  readsSharedSettings: true,
  defaultConfig: () => validateGraphiteConfig(undefined, 'graphite', []),
  validate: validateGraphiteConfig,
  create: (config, shared, deps) => new GraphiteBackend(config, shared.disabledSubMetrics, deps),
} satisfies BackendFactory<GraphiteConfig>;
