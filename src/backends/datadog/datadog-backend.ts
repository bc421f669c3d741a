import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { ServiceCheck, StatsdEvent } from '../../parser/sample.js';
import type { Backend, BackendDeps, Explanation } from '../backend.js';
import { explained } from '../shared/explained.js';
import { deflate, familyOf, HttpPoster, inBatches, type DeliveryResult } from '../shared/http-delivery.js';
import type { DatadogConfig } from './config.js';
import { datadogSeries, eventPayload, seriesPayload, serviceCheckPayload } from './format.js';
import { EnvoyTagExtractor } from '../../shared/envoy-tags.js';

/** Extra dependencies of {@link DatadogBackend} (tests fix the jitter). */
export interface DatadogDeps extends BackendDeps {
  random?: () => number;
}

/**
 * DatadogBackend posts each interval to Datadog's v1 series API as gostatsd's datadog
 * backend does: `{"series":[…]}` in batches of `metrics_per_batch`, zlib-compressed when
 * `compress_payload`, `max_requests` at once; events to `/api/v1/events`. The API key goes
 * in the `DD-API-KEY` header (never in a URL, so it cannot reach a log). Failed attempts
 * are retried with back-off until `max_request_elapsed_time`; a 4xx other than 408/429 is
 * dropped and counted as `rejected`, Datadog's answer logged once a minute. While an
 * interval is in delivery the flusher merges the next ones (busy policy `coalesce`).
 */
export class DatadogBackend implements Backend {
  readonly name: string;
  readonly busyPolicy = 'coalesce' as const;
  readonly #config: DatadogConfig;
  readonly #poster: HttpPoster;
  readonly #envoy: EnvoyTagExtractor;

  constructor(config: DatadogConfig, deps: DatadogDeps, envoy = new EnvoyTagExtractor('off')) {
    this.name = deps.name;
    this.#envoy = envoy;
    this.#config = config;
    this.#poster = new HttpPoster(
      {
        endpoint: config.apiEndpoint,
        timeoutMs: config.clientTimeoutMs,
        maxConnections: config.maxRequests,
        family: familyOf(config.network),
        userAgent: config.userAgent,
        maxElapsedMs: config.maxRequestElapsedMs,
        what: 'datadog',
      },
      deps,
    );
  }

  get deliveryTimeoutMs(): number {
    return this.#poster.deliveryTimeoutMs;
  }

  async start(): Promise<void> {}

  /** The series (names, points, tags, host) it would post. */
  explain(snapshot: FlushSnapshot): Explanation {
    return explained(datadogSeries(snapshot, this.#envoy), 'no finite value to post');
  }

  async flush(snapshot: FlushSnapshot, signal: AbortSignal, hurry?: AbortSignal): Promise<void> {
    const batches = inBatches(datadogSeries(snapshot, this.#envoy), this.#config.metricsPerBatch);
    await this.#poster.postAll(batches, this.#config.maxRequests, (batch) =>
      this.#post('/api/v1/series', seriesPayload(batch), batch.length, signal, hurry),
    );
  }

  async #post(
    path: string,
    json: string,
    items: number,
    signal: AbortSignal,
    hurry?: AbortSignal,
  ): Promise<DeliveryResult> {
    const raw = Buffer.from(json);
    const body = this.#config.compress ? await deflate(raw) : raw;
    return this.#poster.post(path, body, () => this.#headers(), items, signal, hurry);
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json', 'dd-api-key': this.#config.apiKey };
    if (this.#config.compress) h['content-encoding'] = 'deflate';
    return h;
  }

  async sendEvent(e: StatsdEvent, signal: AbortSignal): Promise<void> {
    await this.#post('/api/v1/events', eventPayload(e), 1, signal);
  }

  async sendServiceCheck(c: ServiceCheck, signal: AbortSignal): Promise<void> {
    await this.#post('/api/v1/check_run', serviceCheckPayload(c), 1, signal);
  }

  async shutdown(): Promise<void> {
    await this.#poster.destroy();
  }
}
