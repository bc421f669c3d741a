import type { BackendFactory } from '../backend.js';
import { SEPAGENT_KEYS, defaultSepAgentConfig, validateSepAgentConfig, type SepAgentConfig } from './config.js';
import { SepAgentBackend } from './sepagent-backend.js';

/** Factory of the `sepagent` backend. */
export const sepAgentBackendFactory = {
  type: 'sepagent',
  keys: SEPAGENT_KEYS,
  description: 'JSON documents per SEP instance over UDP to SepAgent ([sepagent] section)',
  defaultConfig: defaultSepAgentConfig,
  validate: validateSepAgentConfig,
  create: (config, _shared, deps) => new SepAgentBackend(config, deps),
} satisfies BackendFactory<SepAgentConfig>;
