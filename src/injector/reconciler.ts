import { isDeepStrictEqual } from 'node:util';
import {
  CoreV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { formatFromName, type ConfigFormat } from '../config/load.js';
import { errorMessage, issuesOnOneLine, type ConfigIssue } from '../shared/errors.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { DEFAULT_CONFIGMAP_KEYS } from '../reload/configmap-source.js';
import { EventRecorder, KubeApiError } from '../reload/kube.js';
import { CLASS_LABEL } from './annotations.js';
import type { InjectorMetrics } from './metrics.js';
import { copyName, type ClassInfo } from './mutate.js';
import { DNS_LABEL } from './settings.js';

/** Labels on every copy the injector manages. */
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGER = 'statsd-sepagent-injector';
/** On a copy: the class it copies. */
export const COPY_OF_LABEL = 'statsd-sepagent.io/class-copy';
/** On a copy: `<namespace>/<name>@<resourceVersion>` of the class it was copied from. */
export const SOURCE_ANNOTATION = 'statsd-sepagent.io/source';

const COMPONENT = 'statsd-sepagent-injector';

/** Settings of {@link ClassReconciler}. */
export interface ReconcilerOptions {
  kubeConfig: KubeConfig;
  /** The injector's namespace, where classes live. */
  namespace: string;
  /** Validates a class's config document as the daemon would; returns its problems. */
  validate: (text: string, format: ConfigFormat) => ConfigIssue[];
  logger: Logger;
  metrics: InjectorMetrics;
  /** Names this instance on Events (POD_NAME). */
  instance: string;
  /** Restart backoff after a watch failure (default 1 s to 60 s). */
  backoff?: { initialMs: number; maxMs: number };
  /** A pass with a failed write runs again after this long (default 5 s). */
  retryMs?: number;
  /** Timers (default: the system clock). */
  clock?: Clock;
}

/** A class as last seen. */
interface ClassState {
  cm: V1ConfigMap;
  /** The data copies get: the last valid version (kept while a later one is invalid). */
  valid: { key: string; data: Record<string, string>; source: string } | undefined;
  /** Why the current version is not used. */
  problem: string | undefined;
}

/** One informer with its own restart-on-error supervision. */
class Informer<T extends KubernetesObject> {
  #lw: ListWatch<T> | undefined;
  #failures = 0;
  #timer: (() => void) | undefined;
  #stopping = false;
  #synced = false;

  constructor(
    readonly what: string,
    private readonly make: () => ListWatch<T>,
    private readonly onChange: () => void,
    private readonly onError: (what: string, err: unknown, retryInMs: number) => void,
    private readonly backoff: { initialMs: number; maxMs: number },
    private readonly clock: Clock,
  ) {}

  get synced(): boolean {
    return this.#synced;
  }

  list(): readonly T[] {
    return this.#lw?.list() ?? [];
  }

  start(): void {
    if (this.#stopping) return;
    const lw = this.make();
    this.#lw = lw;
    for (const e of ['add', 'update', 'delete'] as const)
      lw.on(e, () => {
        this.#failures = 0;
        this.onChange();
      });
    lw.on('error', (err) => {
      if (!this.#stopping && lw === this.#lw) this.#restart(err);
    });
    lw.start().then(
      () => {
        if (lw !== this.#lw) return;
        this.#synced = true;
        this.onChange();
      },
      (err: unknown) => {
        if (!this.#stopping && lw === this.#lw) this.#restart(err);
      },
    );
  }

  #restart(err: unknown): void {
    if (this.#timer !== undefined) return;
    const { initialMs, maxMs } = this.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.#failures, 20));
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    this.#failures++;
    this.onError(this.what, err, delay);
    const old = this.#lw;
    void old?.stop().catch(() => undefined);
    this.#timer = this.clock.after(delay, () => {
      this.#timer = undefined;
      this.start();
    });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#timer?.();
    const lw = this.#lw;
    this.#lw = undefined;
    await lw?.stop().catch(() => undefined);
  }
}

const sameData = (a: Record<string, string> | undefined, b: Record<string, string>): boolean =>
  isDeepStrictEqual(a ?? {}, b);

/**
 * ClassReconciler keeps, for every namespace with injected pods, a copy of each class
 * those pods use (`statsd-sepagent-<class>`), so the sidecars mount their class without
 * any RBAC in user namespaces and follow its edits through the kubelet's ConfigMap sync
 * and their own file reload.
 *
 * It is level-triggered: three informers (classes in the injector's namespace, injected
 * pods and managed copies in every namespace) feed one cache, and each change runs a
 * reconcile pass that compares the copies that should exist with those that do. Copies
 * carry owner labels; a ConfigMap of that name the injector does not own is left alone and
 * reported. A class that fails the daemon's validation is not propagated: it gets a
 * `ClassRejected` Event, and its copies keep the last valid version.
 */
export class ClassReconciler {
  readonly #o: ReconcilerOptions;
  readonly #core: CoreV1Api;
  readonly #events: EventRecorder;
  readonly #informers: {
    classes: Informer<V1ConfigMap>;
    pods: Informer<KubernetesObject>;
    copies: Informer<V1ConfigMap>;
  };
  readonly #classes = new Map<string, ClassState>();
  /** Copies found to belong to someone else, `ns/name` → resourceVersion of theirs (reported once). */
  readonly #foreign = new Map<string, string>();
  #pass: Promise<void> = Promise.resolve();
  #queued = false;
  #stopped = false;
  #idleWaiters: Array<() => void> = [];
  #running = false;
  #retry: (() => void) | undefined;

  constructor(opts: ReconcilerOptions) {
    this.#o = opts;
    const kc = opts.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    this.#core = core;
    this.#events = new EventRecorder(
      (namespace, body) => core.createNamespacedEvent({ namespace, body }),
      COMPONENT,
      opts.instance,
    );
    const backoff = opts.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    const clock = opts.clock ?? systemClock;
    const onChange = (): void => this.#schedule();
    const onError = (what: string, err: unknown, retryInMs: number): void => {
      opts.metrics.apiErrors.inc({ operation: `watch ${what}` });
      opts.logger.warn({ err: new KubeApiError(err).message, retryInMs }, `watch of ${what} failed; retrying`);
    };
    const classSelector = CLASS_LABEL;
    const podSelector = CLASS_LABEL;
    const copySelector = `${MANAGED_BY}=${MANAGER}`;
    const ns = opts.namespace;
    this.#informers = {
      classes: new Informer(
        'classes',
        () =>
          new ListWatch<V1ConfigMap>(
            `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`,
            new Watch(kc),
            () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: classSelector }),
            false,
            classSelector,
          ),
        onChange,
        onError,
        backoff,
        clock,
      ),
      pods: new Informer(
        'injected pods',
        () =>
          new ListWatch<KubernetesObject>(
            '/api/v1/pods',
            new Watch(kc),
            () => core.listPodForAllNamespaces({ labelSelector: podSelector }),
            false,
            podSelector,
          ),
        onChange,
        onError,
        backoff,
        clock,
      ),
      copies: new Informer(
        'class copies',
        () =>
          new ListWatch<V1ConfigMap>(
            '/api/v1/configmaps',
            new Watch(kc),
            () => core.listConfigMapForAllNamespaces({ labelSelector: copySelector }),
            false,
            copySelector,
          ),
        onChange,
        onError,
        backoff,
        clock,
      ),
    };
  }

  /** Starts the informers; reconciling begins once all three have listed. */
  start(): void {
    for (const i of Object.values(this.#informers)) i.start();
  }

  /** True once every informer has listed (the webhook knows the classes). */
  get synced(): boolean {
    return Object.values(this.#informers).every((i) => i.synced);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#retry?.();
    await Promise.all(Object.values(this.#informers).map((i) => i.stop()));
    await this.#pass;
  }

  /** Resolves when no reconcile pass is running or queued (for tests and shutdown). */
  idle(): Promise<void> {
    if (!this.#running && !this.#queued) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** The class pods may use, or why they cannot (for the webhook). */
  lookupClass(name: string): ClassInfo | string {
    if (!this.#informers.classes.synced) return 'the injector has not read the classes yet; retry';
    const c = this.#classes.get(name);
    if (c === undefined)
      return `class "${name}" does not exist (a ConfigMap labelled ${CLASS_LABEL}=${name} in ${this.#o.namespace})`;
    if (c.valid === undefined) return `class "${name}" is invalid and has no valid version: ${c.problem ?? ''}`;
    return { key: c.valid.key };
  }

  #schedule(): void {
    if (this.#stopped || this.#queued) return;
    this.#queued = true;
    this.#pass = this.#pass.then(async () => {
      this.#queued = false;
      if (this.#stopped || !this.synced) return this.#settle();
      this.#running = true;
      try {
        await this.#reconcile();
      } catch (err) {
        this.#o.logger.error({ err: errorMessage(err) }, 'reconcile pass failed');
      } finally {
        this.#running = false;
        this.#settle();
      }
    });
  }

  #settle(): void {
    if (this.#queued || this.#running) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Reads the classes from the cache: validates new versions, reports rejections. */
  #refreshClasses(): void {
    const seen = new Set<string>();
    for (const cm of this.#informers.classes.list()) {
      const name = cm.metadata?.labels?.[CLASS_LABEL] ?? '';
      const ref = `${cm.metadata?.namespace}/${cm.metadata?.name}`;
      if (!DNS_LABEL.test(name)) {
        this.#events.post(
          cm,
          'Warning',
          'ClassRejected',
          `class name "${name}" is not a DNS-1123 label`,
          this.#o.logger,
        );
        continue;
      }
      if (seen.has(name)) {
        this.#events.post(
          cm,
          'Warning',
          'ClassRejected',
          `another ConfigMap already defines class "${name}"; this one is ignored`,
          this.#o.logger,
        );
        continue;
      }
      seen.add(name);
      const old = this.#classes.get(name);
      if (old !== undefined && old.cm.metadata?.resourceVersion === cm.metadata?.resourceVersion) continue;
      const state: ClassState = { cm, valid: old?.valid, problem: undefined };
      const source = `${ref}@${cm.metadata?.resourceVersion ?? ''}`;
      const data = cm.data ?? {};
      const key = DEFAULT_CONFIGMAP_KEYS.find((k) => data[k] !== undefined);
      const format = key === undefined ? undefined : formatFromName(key);
      let problem: string | undefined;
      if (key === undefined || format === undefined)
        problem = `no config document: add one of the keys ${DEFAULT_CONFIGMAP_KEYS.join(', ')}`;
      else {
        const errors = this.#o.validate(data[key]!, format).filter((i) => i.severity === 'error');
        if (errors.length > 0) problem = issuesOnOneLine(errors);
      }
      if (problem === undefined) {
        state.valid = { key: key!, data: { ...data }, source };
        this.#o.metrics.classValid.set({ class: name }, 1);
        this.#o.logger.info({ class: name, source }, 'class accepted');
      } else {
        state.problem = problem;
        this.#o.metrics.classValid.set({ class: name }, 0);
        this.#o.metrics.classRejections.inc({ class: name });
        const kept = state.valid === undefined ? 'no copies are made' : `copies keep ${state.valid.source}`;
        this.#o.logger.error({ class: name, source, problem }, `class rejected; ${kept}`);
        this.#events.post(
          cm,
          'Warning',
          'ClassRejected',
          `class "${name}" rejected (${kept}): ${problem}`,
          this.#o.logger,
        );
      }
      this.#classes.set(name, state);
    }
    for (const name of [...this.#classes.keys()])
      if (!seen.has(name)) {
        this.#classes.delete(name);
        this.#o.metrics.classValid.remove({ class: name });
        this.#o.logger.info({ class: name }, 'class deleted; its copies are removed');
      }
  }

  async #reconcile(): Promise<void> {
    this.#refreshClasses();
    // Which (namespace, class) pairs have injected pods.
    const wanted = new Map<string, { ns: string; cls: string }>();
    for (const pod of this.#informers.pods.list()) {
      const ns = pod.metadata?.namespace;
      const cls = pod.metadata?.labels?.[CLASS_LABEL];
      if (ns === undefined || cls === undefined || ns === this.#o.namespace) continue;
      wanted.set(`${ns}/${copyName(cls)}`, { ns, cls });
    }
    const existing = new Map<string, V1ConfigMap>();
    for (const cm of this.#informers.copies.list()) existing.set(`${cm.metadata?.namespace}/${cm.metadata?.name}`, cm);

    // A class whose versions were all invalid since start-up reuses what its copies hold.
    for (const cm of existing.values()) {
      const cls = cm.metadata?.labels?.[COPY_OF_LABEL];
      const state = cls === undefined ? undefined : this.#classes.get(cls);
      if (state !== undefined && state.valid === undefined && cm.data !== undefined) {
        const key = DEFAULT_CONFIGMAP_KEYS.find((k) => cm.data![k] !== undefined);
        if (key !== undefined)
          state.valid = { key, data: { ...cm.data }, source: cm.metadata?.annotations?.[SOURCE_ANNOTATION] ?? '' };
      }
    }

    const counts = new Map<string, number>();
    for (const [ref, { ns, cls }] of wanted) {
      const state = this.#classes.get(cls);
      if (state?.valid === undefined) continue; // unknown or never valid: nothing to copy
      counts.set(cls, (counts.get(cls) ?? 0) + 1);
      const have = existing.get(ref);
      if (have === undefined) await this.#create(ns, cls, state.valid);
      else if (!sameData(have.data, state.valid.data)) await this.#update(have, cls, state.valid);
    }
    for (const [ref, cm] of existing) {
      const cls = cm.metadata?.labels?.[COPY_OF_LABEL] ?? '';
      if (this.#classes.has(cls)) {
        if (wanted.has(ref)) continue;
        // No injected pod uses it now; it stays (a new pod may come) until the class goes.
        counts.set(cls, (counts.get(cls) ?? 0) + 1);
        const state = this.#classes.get(cls)!;
        if (state.valid !== undefined && !sameData(cm.data, state.valid.data)) await this.#update(cm, cls, state.valid);
        continue;
      }
      await this.#delete(cm);
    }
    for (const name of this.#classes.keys()) this.#o.metrics.copies.set({ class: name }, counts.get(name) ?? 0);
  }

  #body(ns: string, cls: string, valid: NonNullable<ClassState['valid']>, rv?: string): V1ConfigMap {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: copyName(cls),
        namespace: ns,
        ...(rv !== undefined ? { resourceVersion: rv } : {}),
        labels: { [MANAGED_BY]: MANAGER, [COPY_OF_LABEL]: cls },
        annotations: { [SOURCE_ANNOTATION]: valid.source },
      },
      data: valid.data,
    };
  }

  async #create(ns: string, cls: string, valid: NonNullable<ClassState['valid']>): Promise<void> {
    const name = copyName(cls);
    try {
      await this.#core.createNamespacedConfigMap({ namespace: ns, body: this.#body(ns, cls, valid) });
      this.#o.metrics.copyWrites.inc({ operation: 'create' });
      this.#o.logger.info({ class: cls, namespace: ns }, 'class copied');
    } catch (err) {
      const e = new KubeApiError(err);
      if (e.status !== 409) return this.#failed('create', `${ns}/${name}`, e);
      // It exists but is not among our copies: someone else's object, left alone.
      let theirs: V1ConfigMap | undefined;
      try {
        theirs = await this.#core.readNamespacedConfigMap({ namespace: ns, name });
      } catch (readErr) {
        return this.#failed('read', `${ns}/${name}`, new KubeApiError(readErr));
      }
      if (theirs.metadata?.labels?.[MANAGED_BY] === MANAGER) return; // ours; the copies watch catches up
      const rv = theirs.metadata?.resourceVersion ?? '';
      if (this.#foreign.get(`${ns}/${name}`) === rv) return;
      this.#foreign.set(`${ns}/${name}`, rv);
      this.#o.metrics.foreignObjects.inc();
      this.#o.logger.error(
        { class: cls, namespace: ns, configMap: name },
        'a ConfigMap of the copy name exists and is not managed by the injector; left alone (sidecars of this class in that namespace use it)',
      );
      this.#events.post(
        theirs,
        'Warning',
        'ClassCopyConflict',
        `statsd-sepagent-injector would copy class "${cls}" here but this ConfigMap is not managed by it; left alone`,
        this.#o.logger,
      );
    }
  }

  async #update(have: V1ConfigMap, cls: string, valid: NonNullable<ClassState['valid']>): Promise<void> {
    const ns = have.metadata!.namespace!;
    try {
      await this.#core.replaceNamespacedConfigMap({
        namespace: ns,
        name: copyName(cls),
        body: this.#body(ns, cls, valid, have.metadata?.resourceVersion),
      });
      this.#o.metrics.copyWrites.inc({ operation: 'update' });
      this.#o.logger.info({ class: cls, namespace: ns, source: valid.source }, 'class copy updated');
    } catch (err) {
      // 409: changed meanwhile; the watch brings the new version and the next pass retries.
      this.#failed('update', `${ns}/${copyName(cls)}`, new KubeApiError(err));
    }
  }

  async #delete(cm: V1ConfigMap): Promise<void> {
    const ns = cm.metadata!.namespace!;
    const name = cm.metadata!.name!;
    try {
      await this.#core.deleteNamespacedConfigMap({ namespace: ns, name });
      this.#o.metrics.copyWrites.inc({ operation: 'delete' });
      this.#o.logger.info({ namespace: ns, configMap: name }, 'class gone; copy deleted');
    } catch (err) {
      const e = new KubeApiError(err);
      if (e.status !== 404) this.#failed('delete', `${ns}/${name}`, e);
    }
  }

  #failed(operation: string, ref: string, e: KubeApiError): void {
    this.#o.metrics.apiErrors.inc({ operation });
    this.#o.logger.warn({ configMap: ref, err: e.message }, `could not ${operation} a class copy; retrying`);
    if (this.#retry !== undefined || this.#stopped) return;
    this.#retry = (this.#o.clock ?? systemClock).after(this.#o.retryMs ?? 5000, () => {
      this.#retry = undefined;
      this.#schedule();
    });
  }
}
