import { createHash } from 'node:crypto';
import type { DaemonConfig } from '../config/config.js';
import type { ConfigCatalog } from '../config/catalog.js';
import { configFromDocument, type ConfigFormat, type OverrideLayers } from '../config/load.js';
import type { ReloadPlan } from '../config/reload-plan.js';
import type { Clock } from '../shared/clock.js';
import { errorMessage, issuesOnOneLine, type ConfigIssue } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { SelfMetrics } from '../telemetry/self-metrics.js';

/** A config document as a source delivers it. */
export interface ConfigDocument {
  readonly text: string;
  readonly format: ConfigFormat;
  /** Where it came from, for logs: `file /etc/statsd/config.toml`, `configmap ns/name[config.toml]@rv`. */
  readonly origin: string;
  /** Source kind for `config_info{source}`: `file`, `configmap` or `defaults`. */
  readonly source: string;
}

/** The empty document of a daemon running on flags, environment and defaults. */
const DEFAULTS_DOCUMENT: ConfigDocument = {
  text: '',
  format: 'toml',
  origin: 'flags and defaults',
  source: 'defaults',
};

/** What became of a document. */
export type ReloadOutcome =
  | { readonly result: 'applied'; readonly hash: string; readonly plan: ReloadPlan }
  | { readonly result: 'unchanged'; readonly hash: string }
  | { readonly result: 'rejected'; readonly hash: string; readonly issues: readonly ConfigIssue[] };

/** Dependencies of {@link ConfigReloader}. */
export interface ConfigReloaderDeps {
  /** Flags and `GSD_` variables, laid over every document. */
  layers: OverrideLayers;
  /** The components whose sections a document may hold (the daemon's registries). */
  catalog: ConfigCatalog;
  /** Applies a validated config to the running daemon (Daemon.applyConfig). */
  apply: (config: DaemonConfig) => Promise<ReloadPlan>;
  metrics: SelfMetrics;
  logger: Logger;
  clock: Clock;
  /** A burst of documents within this window becomes one reload (default 250 ms). */
  debounceMs?: number;
}

/** The short hash `config_info{hash}` shows: the first 16 hex digits of the document's SHA-256. */
export function documentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * ConfigReloader turns documents from any source into live reloads: parse and validate
 * completely (the same path as `check-config`), then apply. Documents are debounced (the
 * last of a burst wins) and reloads run one at a time. A rejected document changes
 * nothing: the old configuration keeps running.
 */
export class ConfigReloader {
  readonly #d: ConfigReloaderDeps;
  #activeHash = '';
  #activeDoc: ConfigDocument | undefined;
  #pending: { doc: ConfigDocument; done: Array<(o: ReloadOutcome) => void> } | undefined;
  #cancelTimer: (() => void) | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(deps: ConfigReloaderDeps) {
    this.#d = deps;
  }

  /** Records the configuration the daemon started with. */
  started(doc: ConfigDocument | undefined): void {
    this.#activeHash = doc === undefined ? documentHash('') : documentHash(doc.text);
    this.#activeDoc = doc;
    this.#d.metrics.configApplied(this.#activeHash, doc?.source ?? 'defaults', false, this.#d.clock.now() / 1000);
  }

  /** Counts a document its source rejected before it reached us (e.g. a ConfigMap without the key). */
  recordRejection(): void {
    this.#d.metrics.configRejected();
  }

  /** Hash of the document in force. */
  get activeHash(): string {
    return this.#activeHash;
  }

  /**
   * Queues a document; after the debounce window the latest queued one is processed and
   * its `onOutcome` runs. A document replaced by a later one within the window is never
   * processed, and its callback never runs.
   */
  offer(doc: ConfigDocument, onOutcome?: (o: ReloadOutcome) => void): void {
    if (this.#closed) return;
    const done = onOutcome === undefined ? [] : [onOutcome];
    this.#pending = { doc, done };
    this.#cancelTimer?.();
    this.#cancelTimer = this.#d.clock.after(this.#d.debounceMs ?? 250, () => {
      this.#cancelTimer = undefined;
      const p = this.#pending;
      this.#pending = undefined;
      if (p === undefined) return;
      void this.#enqueue(p.doc, false).then((o) => {
        for (const cb of p.done) cb(o);
      });
    });
  }

  /** Processes a document now (after any reload in progress); `force` re-applies an unchanged one. */
  reload(doc: ConfigDocument, force = false): Promise<ReloadOutcome> {
    return this.#enqueue(doc, force);
  }

  /**
   * Validates and applies the document in force again (a file it refers to changed),
   * or flags and defaults alone when the daemon started without one.
   */
  reapply(): Promise<ReloadOutcome> | undefined {
    if (this.#closed) return undefined;
    return this.#enqueue(this.#activeDoc ?? DEFAULTS_DOCUMENT, true);
  }

  /** Waits for queued and running reloads; later offers are ignored. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#pending = undefined;
    await this.#chain;
  }

  #enqueue(doc: ConfigDocument, force: boolean): Promise<ReloadOutcome> {
    const run = this.#chain.then(() => this.#process(doc, force));
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #process(doc: ConfigDocument, force: boolean): Promise<ReloadOutcome> {
    const { logger, metrics, clock } = this.#d;
    const hash = documentHash(doc.text);
    if (hash === this.#activeHash && !force) {
      logger.debug({ origin: doc.origin, hash }, 'configuration unchanged');
      return { result: 'unchanged', hash };
    }
    const { config, issues } = configFromDocument(doc.text, doc.format, this.#d.layers, this.#d.catalog);
    const errors = issues.filter((i) => i.severity === 'error');
    if (config === undefined) {
      metrics.configRejected();
      logger.error(
        { origin: doc.origin, hash, problems: errors.length },
        `configuration rejected, the previous one keeps running: ${issuesOnOneLine(errors)}`,
      );
      return { result: 'rejected', hash, issues: errors };
    }
    let plan: ReloadPlan;
    try {
      plan = await this.#d.apply(config);
    } catch (err) {
      const failed: ConfigIssue[] = [{ path: '', severity: 'error', message: `could not apply: ${errorMessage(err)}` }];
      metrics.configRejected();
      logger.error(
        { origin: doc.origin, hash },
        `configuration rejected, the previous one keeps running: ${issuesOnOneLine(failed)}`,
      );
      return { result: 'rejected', hash, issues: failed };
    }
    this.#activeHash = hash;
    this.#activeDoc = doc;
    metrics.configApplied(hash, doc.source, true, clock.now() / 1000);
    const warnings = issues.filter((i) => i.severity === 'warning');
    logger.info(
      {
        origin: doc.origin,
        hash,
        changed: plan.live,
        backendsStarted: plan.startBackends,
        backendsStopped: plan.stopBackends,
        backendsReconfigured: plan.reconfigureBackends,
        ...(warnings.length > 0 ? { warnings: issuesOnOneLine(warnings) } : {}),
      },
      plan.live.length === 0 && plan.restartRequired.length === 0
        ? 'configuration reloaded: no effective change'
        : 'configuration reloaded',
    );
    if (plan.restartRequired.length > 0) {
      logger.warn(
        { keys: plan.restartRequired },
        `configuration keys changed that only take effect after a restart (old values kept): ${plan.restartRequired.join(', ')}`,
      );
    }
    return { result: 'applied', hash, plan };
  }
}
