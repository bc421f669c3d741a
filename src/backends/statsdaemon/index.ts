import type { BackendFactory } from '../backend.js';
import { STATSDAEMON_KEYS, validateStatsdaemonConfig, type StatsdaemonConfig } from './config.js';
import type * as Implementation from './statsdaemon-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './statsdaemon-backend.js');

/** Factory of the `statsdaemon` backend: re-emits StatsD lines to another statsd, as gostatsd's. */
export const statsdaemonBackendFactory = {
  type: 'statsdaemon',
  keys: STATSDAEMON_KEYS,
  description: 'StatsD lines to another statsd over UDP (1472-byte packets), TCP or TLS, as gostatsd re-emits them',
  defaultConfig: () => validateStatsdaemonConfig({ address: '127.0.0.1:8125' }, 'statsdaemon', []),
  validate: validateStatsdaemonConfig,
  create: (config, _shared, deps) => new (implementation().StatsdaemonBackend)(config, deps),
} satisfies BackendFactory<StatsdaemonConfig>;
