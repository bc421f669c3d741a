import type { BackendFactory } from '../backend.js';
import { NullBackend } from './null-backend.js';

/** Factory of the `null` backend. */
export const nullBackendFactory = {
  type: 'null',
  description: 'discards everything',
  defaultConfig: () => ({}),
  validate: () => ({}),
  create: () => new NullBackend(),
} satisfies BackendFactory<Record<string, never>>;
