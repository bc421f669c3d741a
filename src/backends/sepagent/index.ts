import type { BackendFactory } from '../backend.js';
import { SEPAGENT_KEYS, defaultSepAgentConfig, validateSepAgentConfig, type SepAgentConfig } from './config.js';
import type * as Implementation from './sepagent-backend.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './sepagent-backend.js');

/** Factory of the `sepagent` backend. */
export const sepAgentBackendFactory = {
  type: 'sepagent',
  keys: SEPAGENT_KEYS,
  description: 'JSON documents per SEP instance over UDP to SepAgent ([sepagent] section)',
  defaultConfig: defaultSepAgentConfig,
  validate: validateSepAgentConfig,
  create: (config, _shared, deps) => new (implementation().SepAgentBackend)(config, deps),
} satisfies BackendFactory<SepAgentConfig>;
