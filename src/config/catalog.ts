import type { KeySpec, KeyReader } from '../shared/config-key.js';
import type { ConfigIssue } from '../shared/errors.js';

/**
 * A component's config section, validated by the component itself. `validate` never
 * throws: it appends problems to `issues` (paths start with `path`) and returns the
 * typed settings (defaults where a value is missing or wrong).
 */
export interface SectionValidator<C = unknown> {
  validate(raw: unknown, path: string, issues: ConfigIssue[]): C;
}

/**
 * What the configuration needs to know of the components a build has. Config never
 * imports a component: the daemon's registries hand it this catalog.
 */
export interface ConfigCatalog {
  /** Backend section validators by backend type (`sepagent`, `stdout`, …). */
  readonly backends: ReadonlyMap<string, SectionValidator>;
  /** Backend types of the gostatsd reference this build lacks: their sections load, selecting them is an error. */
  readonly referenceOnlyBackends: readonly string[];
  /**
   * Receivers by type, in start order. Each reads its own top-level keys (through their
   * rows) and returns its settings, or undefined when it is off.
   */
  readonly receivers: ReadonlyMap<string, ReceiverSettings>;
}

/** How config sees a receiver type. */
export interface ReceiverSettings {
  /**
   * The top-level key of each field of the receiver's settings (all restart-only); the
   * first is the one that switches the receiver on.
   */
  readonly keys: Readonly<Record<string, string>>;
  /** The rows of the top-level keys the receiver reads (declared with it; all restart-only). */
  readonly rows: readonly KeySpec[];
  validate(read: KeyReader): unknown;
}

/**
 * A backend instance name: its type, optionally `.` and an instance of that type
 * (`sepagent`, `sepagent.canary`). The instance's section is `[sepagent.canary]`.
 */
export function splitInstanceName(name: string): { type: string; instance: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { type: name, instance: '' } : { type: name.slice(0, dot), instance: name.slice(dot + 1) };
}
