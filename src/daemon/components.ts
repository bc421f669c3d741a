import { BACKEND_FACTORIES, REFERENCE_ONLY_BACKENDS } from '../backends/registry.js';
import type { ConfigCatalog } from '../config/catalog.js';
import type { ReloadPlanOptions } from '../config/reload-plan.js';
import { RECEIVER_FACTORIES } from '../receivers/registry.js';

/** The components of this build, as the configuration sees them (validators only). */
export const COMPONENTS: ConfigCatalog = {
  backends: BACKEND_FACTORIES,
  referenceOnlyBackends: REFERENCE_ONLY_BACKENDS,
  receivers: RECEIVER_FACTORIES,
};

/** What a reload plan needs to know of the component types. */
export const RELOAD_OPTIONS: ReloadPlanOptions = {
  readsSharedSettings: (type) => BACKEND_FACTORIES.get(type)?.readsSharedSettings === true,
  receiverKeys: (type) => RECEIVER_FACTORIES.get(type)?.keys ?? {},
};
