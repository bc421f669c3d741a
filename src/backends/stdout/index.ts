import type { BackendFactory } from '../backend.js';
import type { StdoutConfig } from './config.js';
import { StdoutBackend } from './stdout-backend.js';

/** Factory of the `stdout` backend. */
export const stdoutBackendFactory = {
  type: 'stdout',
  keys: [],
  description: 'gostatsd-style text lines on standard output (debugging)',
  readsSharedSettings: true,
  defaultConfig: () => ({}),
  validate: (_raw, _path, _issues) => ({}),
  create: (_config, shared, deps) => new StdoutBackend(shared.disabledSubMetrics, deps),
} satisfies BackendFactory<StdoutConfig>;
