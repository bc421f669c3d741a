import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api, ListWatch, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { EventRecorder, KubeApiError, loadKubeConfig } from './kube.js';
import { formatFromName } from '../config/load.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { DaemonError, errorMessage, issuesOnOneLine } from '../shared/errors.js';
import type { ConfigSink, ConfigSource } from './config-source.js';
import type { Logger } from '../shared/logger.js';
import type { ConfigDocument, ReloadOutcome } from './reloader.js';

/** Keys looked up, in order, when `--configmap-key` is not given. */
export const DEFAULT_CONFIGMAP_KEYS = ['config.toml', 'config.yaml', 'config.json'] as const;

/** Where the service account's namespace is mounted in a pod. */
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The component name on Events this daemon posts. */
const COMPONENT = 'statsd-sepagent';

/** Settings of {@link ConfigMapSource}. */
export interface ConfigMapSourceOptions {
  name: string;
  /** Default: POD_NAMESPACE, the service account's namespace, the kubeconfig context's, `default`. */
  namespace?: string;
  /** Default: the first of {@link DEFAULT_CONFIGMAP_KEYS} present. */
  key?: string;
  /** kubeconfig file; default: KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfigPath?: string;
  env: NodeJS.ProcessEnv;
  /** Restart backoff after a watch failure: first delay and cap (default 1 s, 60 s). */
  backoff?: { initialMs: number; maxMs: number };
  /** Timers (default: the system clock). */
  clock?: Clock;
}

/** A document from the ConfigMap, with the object it came from (for Events). */
export interface ConfigMapDocument extends ConfigDocument {
  readonly configMap: V1ConfigMap;
}

/** How long start-up waits for the API server before starting on flags and defaults. */
const STARTUP_WAIT_MS = 10_000;

/** Callbacks of a running source. */
export interface ConfigMapHandlers {
  logger: Logger;
  /** A new or changed ConfigMap with a usable key. */
  onDocument: (doc: ConfigMapDocument) => void;
  /** The ConfigMap exists but holds no usable key (the problem is reported as an Event already). */
  onUnusable: (cm: V1ConfigMap, problem: string) => void;
  /** The ConfigMap was deleted. */
  onDeleted: (cm: V1ConfigMap) => void;
  /** The watch failed (it is restarted with backoff). */
  onWatchError?: (err: unknown) => void;
}

/**
 * The namespace to work in: `explicit` when given, else POD_NAMESPACE, the service
 * account's namespace (in a pod), the kubeconfig context's, `default`.
 */
export function podNamespace(explicit: string | undefined, env: NodeJS.ProcessEnv, kc: KubeConfig): string {
  if (explicit !== undefined && explicit !== '') return explicit;
  const fromEnv = env['POD_NAMESPACE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    const ns = readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
    if (ns !== '') return ns;
  } catch {
    // not in a pod
  }
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

/**
 * ConfigMapSource watches ONE ConfigMap (a `metadata.name` field selector on both list and
 * watch, so RBAC can be limited to that name) with client-node's ListWatch, and reports
 * what it finds. A supervisor restarts the informer, which stops itself after any error
 * other than 410, with capped, jittered exponential backoff, forever: an API server
 * outage never stops the daemon, which keeps the last good configuration.
 *
 * It also posts core/v1 Events on the ConfigMap: `ConfigApplied`, `ConfigRejected` (with
 * every problem), `ConfigMapDeleted`; at most one per (resourceVersion, reason).
 */
export class ConfigMapSource implements ConfigSource {
  readonly kind = 'configmap';
  /** An invalid ConfigMap at start-up is applied once fixed; the daemon starts on flags and defaults. */
  readonly defersInvalid = true;
  readonly #o: ConfigMapSourceOptions;
  readonly #kc: KubeConfig;
  readonly #core: CoreV1Api;
  readonly namespace: string;
  readonly #fieldSelector: string;
  #informer: ListWatch<V1ConfigMap> | undefined;
  #handlers: ConfigMapHandlers | undefined;
  #sink: ConfigSink | undefined;
  #logger: Logger | undefined;
  #stopping = false;
  #failures = 0;
  #restartTimer: (() => void) | undefined;
  readonly #events: EventRecorder;
  #lastUnusableRv = '';

  get origin(): string {
    return `${this.namespace}/${this.#o.name}`;
  }

  constructor(opts: ConfigMapSourceOptions) {
    this.#o = opts;
    this.#kc = loadKubeConfig(opts.kubeconfigPath);
    this.#core = this.#kc.makeApiClient(CoreV1Api);
    this.namespace = podNamespace(opts.namespace, opts.env, this.#kc);
    this.#fieldSelector = `metadata.name=${opts.name}`;
    this.#events = new EventRecorder(this.#core, COMPONENT, opts.env['POD_NAME'] ?? COMPONENT);
  }

  /** `namespace/name`, for logs. */
  get ref(): string {
    return `${this.namespace}/${this.#o.name}`;
  }

  /** The API server this source talks to. */
  get server(): string {
    return this.#kc.getCurrentCluster()?.server ?? '(none)';
  }

  #list(): Promise<{ items: V1ConfigMap[]; metadata?: { resourceVersion?: string } }> {
    return this.#core.listNamespacedConfigMap({ namespace: this.namespace, fieldSelector: this.#fieldSelector });
  }

  /**
   * Fetches the ConfigMap once (start-up). Resolves with its document, `undefined` when it
   * does not exist, or a problem string when it has no usable key; rejects when the API
   * server cannot be reached or refuses.
   */
  async fetch(): Promise<ConfigMapDocument | undefined | string> {
    let list;
    try {
      list = await this.#list();
    } catch (err) {
      throw new KubeApiError(err);
    }
    const cm = list.items.find((i) => i.metadata?.name === this.#o.name);
    if (cm === undefined) return undefined;
    return this.#document(cm);
  }

  /**
   * The start-up document, waiting up to {@link STARTUP_WAIT_MS} for an API server that does
   * not answer yet (a refusal, 401 or 403, is final at once): the document, or why the
   * ConfigMap cannot be used yet (the daemon then starts on flags and defaults).
   */
  async initial(): Promise<ConfigMapDocument | { unusable: string }> {
    const clock = this.#o.clock ?? systemClock;
    const deadline = clock.monotonicMs() + STARTUP_WAIT_MS;
    let delay = 250;
    for (;;) {
      try {
        const r = await this.fetch();
        if (r === undefined) return { unusable: `ConfigMap ${this.ref} does not exist (yet)` };
        if (typeof r === 'string') return { unusable: r };
        return r;
      } catch (err) {
        const refused = (err as { retryable?: boolean }).retryable === false;
        if (refused || clock.monotonicMs() + delay > deadline)
          return { unusable: `cannot read ConfigMap ${this.ref} from ${this.server}: ${errorMessage(err)}` };
        // A timer that keeps the process alive: nothing else does yet during start-up.
        // eslint-disable-next-line no-restricted-globals
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  connect(sink: ConfigSink): void {
    this.#sink = sink;
  }

  /** Follows the ConfigMap: documents are offered and their outcome posted as Events. */
  start(): Promise<void> {
    const sink = this.#sink;
    if (sink === undefined) throw new DaemonError('ERR_STATE', 'ConfigMapSource.start() before connect()');
    this.watch({
      logger: sink.logger,
      onDocument: (d) => sink.offer(d, (o) => this.report(d, o)),
      onUnusable: () => sink.rejected(),
      onDeleted: () => undefined,
      onWatchError: (err) => sink.error(err),
    });
    sink.logger.info({ configMap: this.ref, server: this.server }, 'watching the ConfigMap for changes');
    return Promise.resolve();
  }

  /** SIGHUP: fetches the ConfigMap now and reloads it even if unchanged. */
  async hangup(): Promise<void> {
    const sink = this.#sink;
    if (sink === undefined) return;
    try {
      const d = await this.fetch();
      if (d === undefined)
        sink.logger.warn({ configMap: this.ref }, 'SIGHUP: the ConfigMap does not exist; nothing to reload');
      else if (typeof d === 'string') sink.logger.error({ configMap: this.ref }, `SIGHUP: ${d}`);
      else this.report(d, await sink.reload(d, true));
    } catch (err) {
      sink.logger.warn({ configMap: this.ref, err: errorMessage(err) }, 'SIGHUP: cannot read the ConfigMap');
    }
  }

  shutdown(): Promise<void> {
    return this.stop();
  }

  /** Starts the watch; handlers run for every change from now on. */
  watch(handlers: ConfigMapHandlers): void {
    this.#handlers = handlers;
    this.#logger = handlers.logger;
    this.#stopping = false;
    this.#startInformer();
  }

  #startInformer(): void {
    if (this.#stopping) return;
    const path = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`;
    const lw = new ListWatch<V1ConfigMap>(
      path,
      new Watch(this.#kc),
      () =>
        this.#list().then((r) => {
          this.#failures = 0;
          return r;
        }),
      false,
      undefined,
      this.#fieldSelector,
    );
    this.#informer = lw;
    const onObject = (cm: V1ConfigMap): void => {
      this.#failures = 0;
      if (cm.metadata?.name !== this.#o.name) return;
      const doc = this.#document(cm);
      if (typeof doc === 'string') {
        // A relist re-delivers the same object: report each version once.
        const rv = cm.metadata?.resourceVersion ?? '';
        if (rv !== '' && rv === this.#lastUnusableRv) return;
        this.#lastUnusableRv = rv;
        this.#logger?.error({ configMap: this.ref }, `configuration rejected, the previous one keeps running: ${doc}`);
        this.postEvent(cm, 'Warning', 'ConfigRejected', doc);
        this.#handlers?.onUnusable(cm, doc);
      } else this.#handlers?.onDocument(doc);
    };
    lw.on('add', onObject);
    lw.on('update', onObject);
    lw.on('delete', (cm) => {
      if (cm.metadata?.name !== this.#o.name) return;
      this.#logger?.warn({ configMap: this.ref }, 'ConfigMap deleted; keeping the last good configuration');
      this.postEvent(
        cm,
        'Warning',
        'ConfigMapDeleted',
        'ConfigMap deleted; statsd-sepagent keeps running on its last good configuration',
      );
      this.#handlers?.onDeleted(cm);
    });
    lw.on('connect', () => this.#logger?.debug({ configMap: this.ref }, 'watching ConfigMap'));
    lw.on('error', (err) => {
      if (this.#stopping || lw !== this.#informer) return; // stop() aborts the request: not a failure
      this.#scheduleRestart(err);
    });
    lw.start().catch((err: unknown) => {
      if (!this.#stopping && lw === this.#informer) this.#scheduleRestart(err);
    });
  }

  #scheduleRestart(err: unknown): void {
    if (this.#restartTimer !== undefined) return;
    const { initialMs, maxMs } = this.#o.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.#failures, 20));
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    this.#failures++;
    this.#handlers?.onWatchError?.(err);
    this.#logger?.warn(
      { configMap: this.ref, err: new KubeApiError(err).message, retryInMs: delay, failures: this.#failures },
      'ConfigMap watch failed; keeping the current configuration and retrying',
    );
    const old = this.#informer;
    this.#informer = undefined;
    void old?.stop().catch(() => undefined);
    this.#restartTimer = (this.#o.clock ?? systemClock).after(delay, () => {
      this.#restartTimer = undefined;
      this.#startInformer();
    });
  }

  /** Stops watching; no handler runs afterwards. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#restartTimer?.();
    this.#restartTimer = undefined;
    const lw = this.#informer;
    this.#informer = undefined;
    this.#handlers = undefined;
    await lw?.stop().catch(() => undefined);
  }

  /** Reports a reload outcome as an Event on the ConfigMap the document came from. */
  report(doc: ConfigMapDocument, outcome: ReloadOutcome): void {
    if (outcome.result === 'applied') {
      const changed = outcome.plan.live.length > 0 ? `changed: ${outcome.plan.live.join(', ')}` : 'no effective change';
      const restart =
        outcome.plan.restartRequired.length > 0
          ? `; needs a restart to take effect: ${outcome.plan.restartRequired.join(', ')}`
          : '';
      this.postEvent(
        doc.configMap,
        'Normal',
        'ConfigApplied',
        `configuration ${outcome.hash} applied (${changed}${restart})`,
      );
    } else if (outcome.result === 'rejected') {
      const problems = issuesOnOneLine(outcome.issues);
      this.postEvent(
        doc.configMap,
        'Warning',
        'ConfigRejected',
        `configuration rejected, previous one kept: ${problems}`,
      );
    }
  }

  /** Posts a core/v1 Event about `cm`; failures are logged, never thrown. */
  postEvent(cm: V1ConfigMap, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#events.post(cm, type, reason, message, this.#logger);
  }

  /** The document in `cm`, or why there is none. */
  #document(cm: V1ConfigMap): ConfigMapDocument | string {
    const data = cm.data ?? {};
    const key = this.#o.key ?? DEFAULT_CONFIGMAP_KEYS.find((k) => data[k] !== undefined);
    if (key === undefined || data[key] === undefined) {
      const present = Object.keys(data);
      const wanted = this.#o.key ?? DEFAULT_CONFIGMAP_KEYS.join(', ');
      return `ConfigMap ${this.ref} has no key ${wanted} (keys present: ${present.length > 0 ? present.join(', ') : 'none'})`;
    }
    const format = formatFromName(key);
    if (format === undefined)
      return `ConfigMap ${this.ref} key "${key}": unknown format; name the key *.toml, *.yaml, *.yml or *.json`;
    return {
      text: data[key],
      format,
      origin: `configmap ${this.ref}[${key}]@${cm.metadata?.resourceVersion ?? '?'}`,
      source: 'configmap',
      configMap: cm,
    };
  }
}
