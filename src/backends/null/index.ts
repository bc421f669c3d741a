import type { BackendFactory } from '../backend.js';
import type * as Implementation from './null-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './null-backend.js');

/** Factory of the `null` backend. */
export const nullBackendFactory = {
  type: 'null',
  keys: [],
  description: 'discards everything',
  defaultConfig: () => ({}),
  validate: () => ({}),
  create: (_config, _shared, deps) => new (implementation().NullBackend)(deps.name),
} satisfies BackendFactory<Record<string, never>>;
