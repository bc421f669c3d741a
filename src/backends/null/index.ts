import type { BackendFactory } from '../backend.js';
import { NullBackend } from './null-backend.js';

/** Factory of the `null` backend. */
export const nullBackendFactory = {
  type: 'null',
  keys: [],
  description: 'discards everything',
  defaultConfig: () => ({}),
  validate: () => ({}),
  create: (_config, _shared, deps) => new NullBackend(deps.name),
} satisfies BackendFactory<Record<string, never>>;
