import type { BackendFactory } from '../backend.js';
import type { StdoutConfig } from './config.js';
import type * as Implementation from './stdout-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './stdout-backend.js');

/** Factory of the `stdout` backend. */
export const stdoutBackendFactory = {
  type: 'stdout',
  keys: [],
  description: 'gostatsd-style text lines on standard output (debugging)',
  readsSharedSettings: true,
  defaultConfig: () => ({}),
  validate: (_raw, _path, _issues) => ({}),
  create: (_config, shared, deps) => new (implementation().StdoutBackend)(shared.disabledSubMetrics, deps),
} satisfies BackendFactory<StdoutConfig>;
