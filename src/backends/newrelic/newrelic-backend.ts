import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { Backend, BackendDeps, Explanation } from '../backend.js';
import { explained } from '../shared/explained.js';
import { HttpPoster, inBatches } from '../shared/http-delivery.js';
import type { NewRelicConfig } from './config.js';
import { newRelicMetrics, newRelicPayload } from './format.js';

/** Extra dependencies of {@link NewRelicBackend} (tests fix the jitter). */
export interface NewRelicDeps extends BackendDeps {
  random?: () => number;
}

/**
 * NewRelicBackend posts each interval as New Relic metric events, to either target of
 * gostatsd's newrelic backend: the Infrastructure agent's HTTP integration endpoint (no
 * key), or the Insights insert API (`X-Insert-Key`). Batches of `metrics_per_batch`, one
 * at a time; failures retried with back-off until `max_request_elapsed_time`, a 4xx other
 * than 408/429 counted as `rejected` and logged once a minute; intervals that end while
 * one is in delivery are merged by the flusher (busy policy `coalesce`). Events are ignored.
 */
export class NewRelicBackend implements Backend {
  readonly name: string;
  readonly busyPolicy = 'coalesce' as const;
  readonly #config: NewRelicConfig;
  readonly #poster: HttpPoster;

  constructor(config: NewRelicConfig, deps: NewRelicDeps) {
    this.name = deps.name;
    this.#config = config;
    this.#poster = new HttpPoster(
      {
        endpoint: config.address,
        timeoutMs: config.clientTimeoutMs,
        maxConnections: 4,
        maxElapsedMs: config.maxRequestElapsedMs,
        what: 'newrelic',
      },
      deps,
    );
  }

  get deliveryTimeoutMs(): number {
    return this.#poster.deliveryTimeoutMs;
  }

  async start(): Promise<void> {}

  /** The metrics it would post. */
  explain(snapshot: FlushSnapshot): Explanation {
    return explained(newRelicMetrics(snapshot, this.#config).map((m) => JSON.stringify(m)));
  }

  async flush(snapshot: FlushSnapshot, signal: AbortSignal, hurry?: AbortSignal): Promise<void> {
    const insights = this.#config.apiKey !== '';
    const headers = (): Record<string, string> => {
      const h: Record<string, string> = { 'content-type': 'application/json' };
      if (insights) h['x-insert-key'] = this.#config.apiKey;
      return h;
    };
    const batches = inBatches(newRelicMetrics(snapshot, this.#config), this.#config.metricsPerBatch);
    await this.#poster.postAll(batches, 1, (batch) =>
      this.#poster.post('', Buffer.from(newRelicPayload(batch, insights)), headers, batch.length, signal, hurry),
    );
  }

  async sendEvent(): Promise<void> {}

  async shutdown(): Promise<void> {
    await this.#poster.destroy();
  }
}
