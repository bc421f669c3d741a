import type { BackendFactory } from '../backends/backend.js';
import { BACKEND_FACTORIES, REFERENCE_ONLY_BACKENDS } from '../backends/registry.js';
import { splitInstanceName, type ConfigCatalog } from '../config/catalog.js';
import type { DaemonConfig } from '../config/config.js';
import type { ReloadPlanOptions } from '../config/reload-plan.js';
import type { ReceiverFactory } from '../receivers/receiver.js';
import { DaemonError } from '../shared/errors.js';
import { RECEIVER_FACTORIES } from '../receivers/registry.js';

/**
 * The component types a daemon can build: backend and receiver factories by type. The
 * configuration sees them as a ConfigCatalog (their validators only).
 */
export interface Components extends ConfigCatalog {
  readonly backends: ReadonlyMap<string, BackendFactory<unknown>>;
  readonly receivers: ReadonlyMap<string, ReceiverFactory<unknown>>;
}

/** The components of this build (the registries of src/backends/ and src/receivers/). */
export const COMPONENTS: Components = {
  backends: BACKEND_FACTORIES,
  referenceOnlyBackends: REFERENCE_ONLY_BACKENDS,
  receivers: RECEIVER_FACTORIES,
};

/** The factory of a backend instance (`sepagent.canary` is made by `sepagent`'s); throws when its type is not registered. */
export function backendFactory(c: Components, name: string): BackendFactory<unknown> {
  const factory = c.backends.get(splitInstanceName(name).type);
  if (factory === undefined) throw new DaemonError('ERR_INTERNAL', `backend "${name}" is not registered`);
  return factory;
}

/** What a reload plan needs to know of the component types. */
export function reloadOptions(c: Components): ReloadPlanOptions {
  return {
    readsSharedSettings: (type) => c.backends.get(type)?.readsSharedSettings === true,
    reconfigurable: (type) => c.backends.get(type)?.reconfigurable === true,
    receiverKeys: (type) => c.receivers.get(type)?.keys ?? {},
  };
}

/** Files the configuration refers to (mapping files, Downward API files), to follow for changes. */
export function referencedFiles(config: DaemonConfig, c: Components = COMPONENTS): string[] {
  const ofBackends = config.backends.flatMap((name) => {
    const f = c.backends.get(splitInstanceName(name).type);
    return f?.referencedFiles?.(config.backendConfigs[name]) ?? [];
  });
  return [...ofBackends, ...config.podTags.files];
}

/** {@link reloadOptions} of this build's components. */
export const RELOAD_OPTIONS: ReloadPlanOptions = reloadOptions(COMPONENTS);
