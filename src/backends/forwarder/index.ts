import type { BackendFactory } from '../backend.js';
import { FORWARDER_KEYS, validateForwarderConfig, type ForwarderConfig } from './config.js';
import type * as Implementation from './forwarder-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './forwarder-backend.js');

/** Factory of the `forwarder` backend: gostatsd's HTTP forwarder (`/v2/raw` to an aggregation tier). */
export const forwarderBackendFactory = {
  type: 'forwarder',
  keys: FORWARDER_KEYS,
  description: 'forwards raw intervals to a gostatsd-compatible aggregation tier over HTTP (/v2/raw, protobuf)',
  defaultConfig: () => validateForwarderConfig({ 'api-endpoint': 'http://127.0.0.1:8080' }, 'forwarder', []),
  validate: validateForwarderConfig,
  create: (config, _shared, deps) => new (implementation().ForwarderBackend)(config, deps),
} satisfies BackendFactory<ForwarderConfig>;
