import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { ServiceCheck, StatsdEvent } from '../../parser/sample.js';
import type { Backend, BackendDeps } from '../backend.js';
import { CoalescingDelivery } from '../shared/coalescing-delivery.js';
import {
  familyOf,
  HttpClient,
  postCounted,
  posterFor,
  type DeliveryResult,
  type Poster,
} from '../shared/http-delivery.js';
import type { DatadogConfig } from './config.js';
import { datadogSeries, eventPayload, seriesPayload, serviceCheckPayload } from './format.js';
import { EnvoyTagExtractor } from '../../shared/envoy-tags.js';

const require = createRequire(import.meta.url);

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
 * interval is in delivery the next ones are merged ({@link CoalescingDelivery}).
 */
export class DatadogBackend implements Backend {
  readonly name: string;
  readonly #config: DatadogConfig;
  readonly #deps: DatadogDeps;
  readonly #poster: Poster;
  readonly #delivery: CoalescingDelivery;
  readonly #envoy: EnvoyTagExtractor;

  constructor(config: DatadogConfig, deps: DatadogDeps, envoy = new EnvoyTagExtractor('off')) {
    this.name = deps.name;
    this.#envoy = envoy;
    this.#config = config;
    this.#deps = deps;
    const client = new HttpClient({
      endpoint: config.apiEndpoint,
      timeoutMs: config.clientTimeoutMs,
      maxConnections: config.maxRequests,
      http2: false,
      caFile: '',
      family: familyOf(config.network),
      userAgent: config.userAgent,
    });
    this.#poster = posterFor(client, deps, config.maxRequestElapsedMs, 'datadog');
    this.#delivery = new CoalescingDelivery((s, stop, deadline) => this.#sendInterval(s, stop, deadline));
  }

  async start(): Promise<void> {}

  /** Whether an interval is in delivery. */
  get busy(): boolean {
    return this.#delivery.busy;
  }

  flush(snapshot: FlushSnapshot): Promise<void> {
    this.#delivery.add(snapshot);
    return Promise.resolve();
  }

  async #sendInterval(s: FlushSnapshot, stop: AbortSignal, deadline: AbortSignal): Promise<boolean> {
    const all = datadogSeries(s, this.#envoy);
    const batches: string[][] = [];
    for (let i = 0; i < all.length; i += this.#config.metricsPerBatch)
      batches.push(all.slice(i, i + this.#config.metricsPerBatch));
    let stopped = false;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const result = await this.#post('/api/v1/series', seriesPayload(batch), stop, deadline);
        if (result === 'delivered') this.#deps.metrics.sent(1, batch.length);
        else if (result === 'stopped') stopped = true;
        else this.#deps.metrics.dropped(result === 'rejected' ? 'rejected' : 'retry_expired', batch.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#config.maxRequests, batches.length) }, worker));
    // Stopped at shutdown: the interval is sent again in the final round (a batch already
    // delivered is then sent twice; Datadog keeps the last point of a timestamp).
    return !stopped;
  }

  async #post(path: string, json: string, stop: AbortSignal, deadline: AbortSignal): Promise<DeliveryResult> {
    let body: Uint8Array = Buffer.from(json);
    if (this.#config.compress) {
      const zlib = require('node:zlib') as typeof Zlib;
      body = await new Promise<Uint8Array>((resolve, reject) =>
        zlib.deflate(body, (err, out) => (err === null ? resolve(out) : reject(err))),
      );
    }
    return postCounted(this.#poster, path, body, () => this.#headers(), stop, deadline);
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json', 'dd-api-key': this.#config.apiKey };
    if (this.#config.compress) h['content-encoding'] = 'deflate';
    return h;
  }

  async sendEvent(e: StatsdEvent, signal: AbortSignal): Promise<void> {
    this.#counted(await this.#post('/api/v1/events', eventPayload(e), signal, signal));
  }

  async sendServiceCheck(c: ServiceCheck, signal: AbortSignal): Promise<void> {
    this.#counted(await this.#post('/api/v1/check_run', serviceCheckPayload(c), signal, signal));
  }

  /** Counts one event or service check as sent or dropped. */
  #counted(result: DeliveryResult): void {
    if (result === 'delivered') this.#deps.metrics.sent(1, 1);
    else this.#deps.metrics.dropped(result === 'rejected' ? 'rejected' : 'retry_expired', 1);
  }

  async shutdown(signal?: AbortSignal): Promise<void> {
    await this.#delivery.shutdown(signal);
    await this.#poster.client.destroy();
  }
}
