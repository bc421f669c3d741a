import { isDeepStrictEqual } from 'node:util';
import { splitInstanceName } from './catalog.js';
import type { DaemonConfig } from './config.js';
import { KEYS, SECTION_FIELDS } from './keys.js';
import { DaemonError } from '../shared/errors.js';

/**
 * How each field of {@link DaemonConfig} reacts to a reload and the key a report names
 * it by, from the key table: a field reloads live when every key that sets it does.
 */
const FIELDS: ReadonlyMap<keyof DaemonConfig, { readonly key: string; readonly live: boolean }> = (() => {
  const m = new Map<keyof DaemonConfig, { key: string; live: boolean }>();
  for (const k of KEYS) {
    if (k.field === undefined) continue;
    const f = m.get(k.field);
    if (f === undefined) m.set(k.field, { key: k.key, live: k.reload === 'live' });
    else f.live &&= k.reload === 'live';
  }
  for (const s of SECTION_FIELDS) m.set(s.field, { key: s.key, live: s.reload === 'live' });
  return m;
})();

/** The reload row of a config field (every field has one: a field without is a programming error). */
function fieldSpec(field: keyof DaemonConfig): { readonly key: string; readonly live: boolean } {
  const spec = FIELDS.get(field);
  if (spec === undefined) throw new DaemonError('ERR_INTERNAL', `config field "${field}" has no row in the key table`);
  return spec;
}

/** What a reload changes. */
export interface ReloadPlan {
  /** The config to run with: the new one, with restart-only fields kept from the running one. */
  readonly effective: DaemonConfig;
  /** Keys whose change is applied live. */
  readonly live: readonly string[];
  /** Keys that changed but only take effect after a restart (their old values stay). */
  readonly restartRequired: readonly string[];
  /** Backends to create and start (new, or their settings changed). */
  readonly startBackends: readonly string[];
  /** Backends to shut down after their last flush (removed, or replaced by a new instance). */
  readonly stopBackends: readonly string[];
  /**
   * Running backends whose section (or the shared settings) changed and whose type takes
   * changes live: they are reconfigured in place and keep their state.
   */
  readonly reconfigureBackends: readonly string[];
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** What the plan needs to know of backend types (from the daemon's registry). */
export interface ReloadPlanOptions {
  /** Whether instances of a backend type read the shared settings (`[disabled-sub-metrics]`). */
  readsSharedSettings: (type: string) => boolean;
  /** Whether instances of a backend type take a changed section (and shared settings) live. */
  reconfigurable: (type: string) => boolean;
  /** The top-level key of each settings field of a receiver type (see ConfigCatalog). */
  receiverKeys: (type: string) => Readonly<Record<string, string>>;
}

/**
 * Compares the running config with a validated new one. Pure.
 *
 * A backend instance is kept (with its sockets, queues and cumulative state) when it
 * stays selected with an identical section, and, if its type reads the shared settings,
 * those did not change either. A type that takes changes live is reconfigured in place
 * (keeping its state) whenever its section or the shared settings change. Otherwise the
 * old instance finishes its last flush and a new one takes over.
 */
export function planReload(current: DaemonConfig, next: DaemonConfig, opts: ReloadPlanOptions): ReloadPlan {
  const effective = { ...next } as Record<keyof DaemonConfig, unknown>;
  const live: string[] = [];
  const restartRequired: string[] = [];
  for (const field of Object.keys(next) as Array<keyof DaemonConfig>) {
    const spec = fieldSpec(field);
    if (isDeepStrictEqual(current[field], next[field])) continue;
    if (field === 'backendConfigs') {
      // Name the sections that changed: "[sepagent]".
      const names = new Set([...Object.keys(current.backendConfigs), ...Object.keys(next.backendConfigs)]);
      for (const n of names)
        if (!isDeepStrictEqual(current.backendConfigs[n], next.backendConfigs[n])) live.push(`[${n}]`);
      continue;
    }
    if (field === 'receivers') {
      restartRequired.push(...changedReceiverKeys(current.receivers, next.receivers, opts));
      effective[field] = current[field];
      continue;
    }
    if (spec.live) live.push(spec.key);
    else {
      restartRequired.push(spec.key);
      effective[field] = current[field];
    }
  }
  const sameShared = isDeepStrictEqual(current.disabledSubMetrics, next.disabledSubMetrics);
  const kept = (name: string): boolean =>
    (sameShared || !opts.readsSharedSettings(splitInstanceName(name).type)) &&
    current.backends.includes(name) &&
    isDeepStrictEqual(current.backendConfigs[name], next.backendConfigs[name]);
  // What a reconfigurable backend's own series follow besides its section.
  const sameCap =
    current.maxSeries === next.maxSeries &&
    current.envoyTagExtraction === next.envoyTagExtraction &&
    isDeepStrictEqual(current.expiry, next.expiry);
  const reconfigureBackends = next.backends.filter(
    (b) =>
      current.backends.includes(b) &&
      opts.reconfigurable(splitInstanceName(b).type) &&
      (!kept(b) || !sameShared || !sameCap),
  );
  const startBackends = next.backends.filter((b) => !kept(b) && !reconfigureBackends.includes(b));
  const stopBackends = current.backends.filter(
    (b) => !next.backends.includes(b) || (!kept(b) && !reconfigureBackends.includes(b)),
  );
  return {
    effective: effective as unknown as DaemonConfig,
    live: unique(live),
    restartRequired: unique(restartRequired),
    startBackends,
    stopBackends,
    reconfigureBackends,
  };
}

/** The keys of receiver settings that differ (all need a restart). */
function changedReceiverKeys(
  current: Record<string, unknown>,
  next: Record<string, unknown>,
  opts: ReloadPlanOptions,
): string[] {
  const out: string[] = [];
  for (const type of new Set([...Object.keys(current), ...Object.keys(next)])) {
    const keys = opts.receiverKeys(type);
    const a = current[type] as Record<string, unknown> | undefined;
    const b = next[type] as Record<string, unknown> | undefined;
    // Switched on or off: the key that switches it.
    if (a === undefined || b === undefined) out.push(Object.values(keys)[0] ?? type);
    else for (const [field, key] of Object.entries(keys)) if (!isDeepStrictEqual(a[field], b[field])) out.push(key);
  }
  return out;
}
