import { readFileSync } from 'node:fs';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { EventRecorder, KubeApiError } from './kube.js';
import { KubeHttp, KubeHttpError } from './kube-access.js';
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
export function podNamespace(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  contextNamespace: string | undefined,
): string {
  if (explicit !== undefined && explicit !== '') return explicit;
  const fromEnv = env['POD_NAMESPACE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    const ns = readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
    if (ns !== '') return ns;
  } catch {
    // not in a pod
  }
  return contextNamespace ?? 'default';
}

/** A watch event as the API server streams it. */
interface WatchEvent {
  type?: string;
  object?: V1ConfigMap & { code?: number; message?: string };
}

/**
 * ConfigMapSource watches ONE ConfigMap (a `metadata.name` field selector on both list and
 * watch, so RBAC can be limited to that name) and reports what it finds. It lists, then
 * watches from the list's resourceVersion; when the server ends a watch it watches again
 * from the last resourceVersion seen (bookmarks included), and when that is too old (HTTP
 * 410 or an in-stream 410) it lists again. Any other failure restarts it with capped,
 * jittered exponential backoff, forever: an API server outage never stops the daemon,
 * which keeps the last good configuration.
 *
 * The access to the API server is resolved by @kubernetes/client-node's KubeConfig in a
 * short-lived child process ({@link KubeHttp}); the requests themselves go through undici, so a
 * sidecar does not keep the client's ~50 MB of modules for its one ConfigMap.
 *
 * It also posts core/v1 Events on the ConfigMap: `ConfigApplied`, `ConfigRejected` (with
 * every problem), `ConfigMapDeleted`; at most one per (resourceVersion, reason).
 */
export class ConfigMapSource implements ConfigSource {
  readonly kind = 'configmap';
  /** An invalid ConfigMap at start-up is applied once fixed; the daemon starts on flags and defaults. */
  readonly defersInvalid = true;
  readonly #o: ConfigMapSourceOptions;
  readonly #http: KubeHttp;
  readonly namespace: string;
  readonly #fieldSelector: string;
  /** The running watch's abort (undefined while none runs). */
  #watching: AbortController | undefined;
  /** The ConfigMap as last seen (to tell an edit from a re-delivery, and to report a deletion). */
  #known: V1ConfigMap | undefined;
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

  /** Resolves the kubeconfig (rejects when there is none) and returns the source. */
  static async open(opts: ConfigMapSourceOptions): Promise<ConfigMapSource> {
    return new ConfigMapSource(opts, await KubeHttp.open(opts.kubeconfigPath));
  }

  private constructor(opts: ConfigMapSourceOptions, http: KubeHttp) {
    this.#o = opts;
    this.#http = http;
    this.namespace = podNamespace(opts.namespace, opts.env, http.access.namespace);
    this.#fieldSelector = `metadata.name=${opts.name}`;
    this.#events = new EventRecorder(
      (namespace, body) =>
        http.json({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, body }),
      COMPONENT,
      opts.env['POD_NAME'] ?? COMPONENT,
    );
  }

  /** `namespace/name`, for logs. */
  get ref(): string {
    return `${this.namespace}/${this.#o.name}`;
  }

  /** The API server this source talks to. */
  get server(): string {
    return this.#http.access.server;
  }

  get #path(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`;
  }

  #list(signal?: AbortSignal): Promise<{ items?: V1ConfigMap[]; metadata?: { resourceVersion?: string } }> {
    return this.#http.json({
      method: 'GET',
      path: this.#path,
      query: { fieldSelector: this.#fieldSelector },
      ...(signal !== undefined ? { signal } : {}),
    });
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
    const cm = (list.items ?? []).find((i) => i.metadata?.name === this.#o.name);
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

  async shutdown(): Promise<void> {
    await this.stop();
    await this.#http.close();
  }

  /** Starts the watch; handlers run for every change from now on. */
  watch(handlers: ConfigMapHandlers): void {
    this.#handlers = handlers;
    this.#logger = handlers.logger;
    this.#stopping = false;
    this.#startWatch();
  }

  #startWatch(): void {
    if (this.#stopping) return;
    const run = new AbortController();
    this.#watching = run;
    this.#follow(run.signal).catch((err: unknown) => {
      if (!this.#stopping && run === this.#watching) this.#scheduleRestart(err);
    });
  }

  /** Lists, then watches; relists when the resourceVersion is too old. Rejects on any other failure. */
  async #follow(signal: AbortSignal): Promise<void> {
    for (;;) {
      const list = await this.#list(signal);
      if (signal.aborted) return;
      this.#failures = 0;
      const cm = (list.items ?? []).find((i) => i.metadata?.name === this.#o.name);
      if (cm !== undefined) this.#seen(cm);
      else if (this.#known !== undefined) this.#gone(this.#known);
      let rv = list.metadata?.resourceVersion ?? '';
      try {
        for (;;) {
          this.#logger?.debug({ configMap: this.ref }, 'watching ConfigMap');
          await this.#http.watch(
            this.#path,
            { fieldSelector: this.#fieldSelector, resourceVersion: rv, allowWatchBookmarks: 'true' },
            (e) => {
              const { type, object } = e as WatchEvent;
              // An in-stream ERROR fails the watch like an HTTP answer of its code (410: list again).
              if (type === 'ERROR')
                throw new KubeHttpError('WATCH', this.#path, object?.code ?? 500, JSON.stringify(object ?? {}));
              rv = object?.metadata?.resourceVersion ?? rv;
              this.#failures = 0;
              if (object === undefined || object.metadata?.name !== this.#o.name) return;
              if (type === 'ADDED' || type === 'MODIFIED') this.#seen(object);
              else if (type === 'DELETED') this.#gone(object);
            },
            signal,
          );
          if (signal.aborted) return;
        }
      } catch (err) {
        if (signal.aborted) return;
        // The resourceVersion is too old (HTTP 410 or an in-stream 410): list again.
        if (!(err instanceof KubeHttpError && err.code === 410)) throw err;
      }
    }
  }

  /** The ConfigMap as listed or watched: reported when it is new or another version. */
  #seen(cm: V1ConfigMap): void {
    const rv = cm.metadata?.resourceVersion;
    if (this.#known !== undefined && rv !== undefined && rv === this.#known.metadata?.resourceVersion) return;
    this.#known = cm;
    const doc = this.#document(cm);
    if (typeof doc === 'string') {
      // A relist re-delivers the same object: report each version once.
      const v = rv ?? '';
      if (v !== '' && v === this.#lastUnusableRv) return;
      this.#lastUnusableRv = v;
      this.#logger?.error({ configMap: this.ref }, `configuration rejected, the previous one keeps running: ${doc}`);
      this.postEvent(cm, 'Warning', 'ConfigRejected', doc);
      this.#handlers?.onUnusable(cm, doc);
    } else this.#handlers?.onDocument(doc);
  }

  #gone(cm: V1ConfigMap): void {
    this.#known = undefined;
    this.#logger?.warn({ configMap: this.ref }, 'ConfigMap deleted; keeping the last good configuration');
    this.postEvent(
      cm,
      'Warning',
      'ConfigMapDeleted',
      'ConfigMap deleted; statsd-sepagent keeps running on its last good configuration',
    );
    this.#handlers?.onDeleted(cm);
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
    this.#watching?.abort();
    this.#watching = undefined;
    this.#restartTimer = (this.#o.clock ?? systemClock).after(delay, () => {
      this.#restartTimer = undefined;
      this.#startWatch();
    });
  }

  /** Stops watching; no handler runs afterwards. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#restartTimer?.();
    this.#restartTimer = undefined;
    this.#watching?.abort();
    this.#watching = undefined;
    this.#handlers = undefined;
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
