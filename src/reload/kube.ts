import type { CoreV1Event, V1ConfigMap } from '@kubernetes/client-node';
import { DaemonError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * An API server error in one line (client-node's own message carries the whole response),
 * with the HTTP status when there was one.
 */
export class KubeApiError extends DaemonError {
  readonly status: number | undefined;

  constructor(err: unknown) {
    const e = err as { code?: unknown; body?: unknown };
    const status = typeof e.code === 'number' ? e.code : undefined;
    let detail = errorMessage(err);
    if (status !== undefined) {
      let body = e.body;
      if (typeof body === 'string') {
        try {
          body = JSON.parse(body) as unknown;
        } catch {
          // not JSON
        }
      }
      const message = (body as { message?: unknown } | undefined)?.message;
      detail = `HTTP ${status}${typeof message === 'string' ? `: ${message}` : ''}`;
    }
    super('ERR_KUBE_API', detail, { cause: err });
    this.name = 'KubeApiError';
    this.status = status;
  }

  /** Worth retrying: no answer, 429 or a server error; not a refusal (401, 403, 404). */
  get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

/**
 * EventRecorder posts core/v1 Events about ConfigMaps, at most one per (object,
 * resourceVersion, reason); a failure to post is logged, never thrown.
 */
export class EventRecorder {
  readonly #create: (namespace: string, body: CoreV1Event) => Promise<unknown>;
  readonly #component: string;
  readonly #instance: string;
  readonly #posted = new Set<string>();

  /** `create` posts an Event to its namespace (client-node's `createNamespacedEvent`, or a plain POST). */
  constructor(create: (namespace: string, body: CoreV1Event) => Promise<unknown>, component: string, instance: string) {
    this.#create = create;
    this.#component = component;
    this.#instance = instance;
  }

  post(cm: V1ConfigMap, type: 'Normal' | 'Warning', reason: string, message: string, logger?: Logger): void {
    const name = cm.metadata?.name ?? '';
    const namespace = cm.metadata?.namespace ?? 'default';
    const rv = cm.metadata?.resourceVersion ?? '';
    const key = `${namespace}/${name}/${rv}/${reason}`;
    if (this.#posted.has(key)) return;
    this.#posted.add(key);
    if (this.#posted.size > 256) this.#posted.delete(this.#posted.values().next().value!);
    const now = new Date();
    const body: CoreV1Event = {
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name,
        namespace,
        ...(cm.metadata?.uid !== undefined ? { uid: cm.metadata.uid } : {}),
        ...(rv !== '' ? { resourceVersion: rv } : {}),
      },
      reason,
      type,
      // The API server limits an Event message to 1 KiB.
      message: message.length > 1024 ? message.slice(0, 1021) + '...' : message,
      source: { component: this.#component },
      reportingComponent: this.#component,
      reportingInstance: this.#instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    this.#create(namespace, body).catch((err: unknown) => {
      logger?.warn(
        { configMap: `${namespace}/${name}`, reason, err: new KubeApiError(err).message },
        'could not post a Kubernetes Event',
      );
    });
  }
}
