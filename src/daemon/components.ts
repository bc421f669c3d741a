import { BACKEND_FACTORIES, REFERENCE_ONLY_BACKENDS } from '../backends/registry.js';
import type { ConfigCatalog } from '../config/catalog.js';

/** The components of this build, as the configuration sees them (validators only). */
export const COMPONENTS: ConfigCatalog = {
  backends: BACKEND_FACTORIES,
  referenceOnlyBackends: REFERENCE_ONLY_BACKENDS,
};
