import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { Backend, BackendDeps } from '../backend.js';
import { CoalescingDelivery } from '../shared/coalescing-delivery.js';
import { HttpClient, postCounted, posterFor, type Poster } from '../shared/http-delivery.js';
import type { NewRelicConfig } from './config.js';
import { newRelicMetrics, newRelicPayload } from './format.js';

/** Extra dependencies of {@link NewRelicBackend} (tests fix the jitter). */
export interface NewRelicDeps extends BackendDeps {
  random?: () => number;
}

/**
 * NewRelicBackend posts each interval as New Relic metric events, to either target of
 * gostatsd's newrelic backend: the Infrastructure agent's HTTP integration endpoint (no
 * key), or the Insights insert API (`X-Insert-Key`). Batches of `metrics_per_batch`;
 * failures retried with back-off until `max_request_elapsed_time`, a 4xx other than
 * 408/429 counted as `rejected` and logged once a minute; intervals that end while one is
 * in delivery are merged ({@link CoalescingDelivery}). Events are ignored.
 */
export class NewRelicBackend implements Backend {
  readonly name: string;
  readonly #config: NewRelicConfig;
  readonly #deps: NewRelicDeps;
  readonly #poster: Poster;
  readonly #delivery: CoalescingDelivery;

  constructor(config: NewRelicConfig, deps: NewRelicDeps) {
    this.name = deps.name;
    this.#config = config;
    this.#deps = deps;
    const client = new HttpClient({
      endpoint: config.address,
      timeoutMs: config.clientTimeoutMs,
      maxConnections: 4,
      http2: false,
      caFile: '',
      family: 0,
      userAgent: 'statsd-sepagent',
    });
    this.#poster = posterFor(client, deps, config.maxRequestElapsedMs, 'newrelic');
    this.#delivery = new CoalescingDelivery((s, stop, deadline) => this.#sendInterval(s, stop, deadline));
  }

  async start(): Promise<void> {}

  get busy(): boolean {
    return this.#delivery.busy;
  }

  flush(snapshot: FlushSnapshot): Promise<void> {
    this.#delivery.add(snapshot);
    return Promise.resolve();
  }

  async #sendInterval(s: FlushSnapshot, stop: AbortSignal, deadline: AbortSignal): Promise<boolean> {
    const all = newRelicMetrics(s, this.#config);
    const insights = this.#config.apiKey !== '';
    const headers = (): Record<string, string> => {
      const h: Record<string, string> = { 'content-type': 'application/json' };
      if (insights) h['x-insert-key'] = this.#config.apiKey;
      return h;
    };
    for (let i = 0; i < all.length; i += this.#config.metricsPerBatch) {
      const batch = all.slice(i, i + this.#config.metricsPerBatch);
      const body = Buffer.from(newRelicPayload(batch, insights));
      const result = await postCounted(this.#poster, '', body, headers, stop, deadline);
      if (result === 'delivered') this.#deps.metrics.sent(1, batch.length);
      else if (result === 'stopped') return false;
      else this.#deps.metrics.dropped(result === 'rejected' ? 'rejected' : 'retry_expired', batch.length);
    }
    return true;
  }

  async sendEvent(): Promise<void> {}

  async shutdown(signal?: AbortSignal): Promise<void> {
    await this.#delivery.shutdown(signal);
    await this.#poster.client.destroy();
  }
}
