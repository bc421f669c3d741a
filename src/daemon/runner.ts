import { configFromDocument, type OverrideLayers } from '../config/load.js';
import type { DaemonConfig } from '../config/config.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import { errorMessage, formatIssues, type ConfigIssue } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { DefaultsSource, type ConfigSink, type ConfigSource } from '../reload/config-source.js';
import { FileConfigSource } from '../reload/file-source.js';
import { ReferencedFilesWatcher } from '../reload/referenced-files.js';
import { ConfigReloader, type ConfigDocument } from '../reload/reloader.js';
import { COMPONENTS, referencedFiles } from './components.js';
import { Daemon, type DaemonDeps } from './daemon.js';

/** Where the daemon's configuration comes from: the config file, a ConfigMap, or neither. */
export interface ConfigOrigin extends OverrideLayers {
  /** `--config-path`: a followed file. */
  configPath?: string;
  /** `--configmap` and friends: a followed Kubernetes ConfigMap. */
  configMap?: { name: string; namespace?: string; key?: string; kubeconfig?: string };
}

/** A start-up configuration ready to run, or why start-up must fail (exit 2). */
export type Prepared =
  | {
      readonly ok: true;
      readonly config: DaemonConfig;
      /** Warnings of the start-up configuration. */
      readonly issues: readonly ConfigIssue[];
      readonly source: ConfigSource;
      /** The document started with (none: flags and defaults). */
      readonly doc: ConfigDocument | undefined;
      /** Why a ConfigMap could not be used at start-up (it is applied once usable). */
      readonly deferred: string | undefined;
      readonly layers: OverrideLayers;
    }
  | { readonly ok: false; readonly message: string };

/** Opens the configuration's source (the ConfigMap's client is loaded only when one is asked for). */
async function openSource(origin: ConfigOrigin): Promise<ConfigSource> {
  if (origin.configPath !== undefined && origin.configPath !== '')
    return new FileConfigSource({ path: origin.configPath });
  if (origin.configMap !== undefined) {
    // Loaded only when asked for (its kubeconfig is resolved in a short-lived child process).
    const { ConfigMapSource } = await import('../reload/configmap-source.js');
    const cm = origin.configMap;
    return ConfigMapSource.open({
      name: cm.name,
      ...(cm.namespace !== undefined ? { namespace: cm.namespace } : {}),
      ...(cm.key !== undefined ? { key: cm.key } : {}),
      ...(cm.kubeconfig !== undefined ? { kubeconfigPath: cm.kubeconfig } : {}),
      env: origin.env ?? {},
    });
  }
  return new DefaultsSource();
}

/**
 * Reads and validates the start-up configuration: flags and `GSD_` variables laid over the
 * source's document. An invalid file stops start-up; an unusable or invalid ConfigMap does
 * not (the daemon starts on flags and defaults and applies the ConfigMap once it is fixed).
 */
export async function prepareDaemon(origin: ConfigOrigin): Promise<Prepared> {
  const layers: OverrideLayers = {
    ...(origin.env !== undefined ? { env: origin.env } : {}),
    ...(origin.flags !== undefined ? { flags: origin.flags } : {}),
  };
  let source: ConfigSource;
  try {
    source = await openSource(origin);
  } catch (err) {
    const message = errorMessage(err);
    return {
      ok: false,
      message:
        origin.configMap !== undefined && origin.configPath === undefined
          ? `cannot use --configmap: ${message}`
          : `invalid configuration:\n  error config-path: ${message}`,
    };
  }
  let initial: Awaited<ReturnType<ConfigSource['initial']>>;
  try {
    initial = await source.initial();
  } catch (err) {
    return { ok: false, message: `invalid configuration:\n  error ${errorMessage(err)}` };
  }
  let doc = initial !== undefined && 'unusable' in initial ? undefined : initial;
  let deferred = initial !== undefined && 'unusable' in initial ? initial.unusable : undefined;
  let { config, issues } = configFromDocument(doc?.text ?? '', doc?.format ?? 'toml', layers, COMPONENTS);
  if (config === undefined && source.defersInvalid && doc !== undefined) {
    deferred = `ConfigMap document invalid:\n${formatIssues(issues.filter((i) => i.severity === 'error'))}`;
    ({ config, issues } = configFromDocument('', 'toml', layers, COMPONENTS));
    doc = undefined;
  }
  if (config === undefined) {
    const what = origin.configPath !== undefined ? `configuration (${origin.configPath})` : 'configuration';
    return { ok: false, message: `invalid ${what}:\n${formatIssues(issues.filter((i) => i.severity === 'error'))}` };
  }
  return { ok: true, config, issues, source, doc, deferred, layers };
}

/**
 * ConfiguredDaemon is the daemon with its configuration's source: the {@link Daemon}, a
 * {@link ConfigReloader} in front of it, the source feeding the reloader, and a
 * {@link ReferencedFilesWatcher} re-applying the configuration when a file it refers to
 * changes. The CLI builds it from {@link prepareDaemon} and forwards signals to it.
 */
export class ConfiguredDaemon implements Lifecycle {
  readonly daemon: Daemon;
  readonly #p: Extract<Prepared, { ok: true }>;
  readonly #logger: Logger;
  readonly #reloader: ConfigReloader;
  readonly #followed: ReferencedFilesWatcher;
  #following = false;

  constructor(prepared: Extract<Prepared, { ok: true }>, deps: DaemonDeps) {
    this.#p = prepared;
    this.#logger = deps.logger;
    const daemon = new Daemon(prepared.config, deps);
    daemon.configOrigin = prepared.source.origin;
    this.daemon = daemon;
    this.#followed = new ReferencedFilesWatcher(() => void this.#reloader.reapply(), deps.logger);
    this.#reloader = new ConfigReloader({
      layers: prepared.layers,
      catalog: COMPONENTS,
      apply: async (c) => {
        const plan = await daemon.applyConfig(c);
        await this.#followed.follow(referencedFiles(daemon.config));
        return plan;
      },
      metrics: daemon.metrics,
      logger: deps.logger,
      clock: deps.clock,
    });
  }

  /** The configuration in force. */
  get config(): DaemonConfig {
    return this.daemon.config;
  }

  /** Starts the daemon, then follows the source and the files the configuration refers to. */
  async start(): Promise<void> {
    await this.daemon.start();
    this.#reloader.started(this.#p.doc);
    await this.#followed.follow(referencedFiles(this.daemon.config));
    const reloader = this.#reloader;
    const { source } = this.#p;
    const sink: ConfigSink = {
      logger: this.#logger,
      offer: (d, report) => reloader.offer(d, report),
      reload: (d, force) => reloader.reload(d, force),
      rejected: () => reloader.recordRejection(),
      error: () => this.daemon.metrics.configSourceError(source.kind),
    };
    source.connect(sink);
    await source.start();
    this.#following = true;
  }

  /**
   * SIGHUP: re-reads the source and reloads even if unchanged. Before the source is followed
   * it is only logged: the document being started with was read moments ago.
   */
  async hangup(): Promise<void> {
    if (!this.#following) {
      this.#logger.info('SIGHUP during start-up: the configuration being started is current; ignored');
      return;
    }
    this.#logger.info('SIGHUP: reloading the configuration');
    await this.#p.source.hangup();
  }

  /** Stops following, lets a reload in progress end, then shuts the daemon down (final flush). */
  async shutdown(signal?: AbortSignal): Promise<void> {
    this.#following = false;
    this.#followed.stop();
    await this.#p.source.shutdown();
    await this.#reloader.close();
    await this.daemon.shutdown(signal);
  }
}
