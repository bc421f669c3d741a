import type { BackendFactory } from '../backend.js';
import { REMOTE_WRITE_KEYS, validateRemoteWriteConfig, type RemoteWriteConfig } from './config.js';
import type * as Implementation from './remote-write-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './remote-write-backend.js');

/** Factory of the `prometheus-remote-write` backend. */
export const remoteWriteBackendFactory = {
  type: 'prometheus-remote-write',
  keys: REMOTE_WRITE_KEYS,
  description: 'Prometheus remote write 1.0 (snappy protobuf) to Prometheus, VictoriaMetrics, Mimir, Cortex or Thanos',
  readsSharedSettings: true,
  referencedFiles: (config) => (config.mappingConfig === '' ? [] : [config.mappingConfig]),
  defaultConfig: () =>
    validateRemoteWriteConfig({ url: 'http://127.0.0.1:8428/api/v1/write' }, 'prometheus-remote-write', []),
  validate: validateRemoteWriteConfig,
  create: (config, shared, deps) => new (implementation().RemoteWriteBackend)(config, shared, deps),
} satisfies BackendFactory<RemoteWriteConfig>;
