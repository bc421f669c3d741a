import { EnvoyTagExtractor } from '../../shared/envoy-tags.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Snappy from 'snappy';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { runChunked } from '../../shared/cooperative.js';
import { errorMessage } from '../../shared/errors.js';
import type { Backend, BackendDeps, Explanation, SharedBackendSettings } from '../backend.js';
import { explained } from '../shared/explained.js';
import { runToEnd } from '../../shared/cooperative.js';
import { mapperOf } from '../prometheus/config.js';
import { PromStore, type Family, type PromSeries } from '../prometheus/store.js';
import { HttpPoster, inBatches, type DeliveryResult } from '../shared/http-delivery.js';
import type { RemoteWriteConfig } from './config.js';
import { encodeWriteRequest, storeSeries, timerSubMetrics, type TimeSeries } from './write-request.js';

const require = createRequire(import.meta.url);

/** Extra dependencies of {@link RemoteWriteBackend} (tests fix the jitter). */
export interface RemoteWriteDeps extends BackendDeps {
  random?: () => number;
}

/**
 * RemoteWriteBackend pushes to a Prometheus remote-write 1.0 receiver (Prometheus,
 * VictoriaMetrics, Mimir, Cortex, Thanos receive). Each interval is applied to the same
 * cumulative state the `prometheus` backend exposes (a {@link PromStore}: counters
 * rise, gauges and sets take the latest value, timers fill the mapping's histograms or
 * summaries), and the whole state is then written, as a scrape at the flush would see it:
 * a snappy-compressed `WriteRequest` in requests of at most `max-samples-per-request`.
 *
 * A failed attempt (network, 5xx, 429) is retried with back-off, no sooner than
 * `Retry-After`, until `max-request-elapsed-time`; another 4xx is dropped and counted as
 * `rejected`, the receiver's answer logged once a minute. Intervals that end while a
 * write runs are merged by the flusher (busy policy `coalesce`) and applied before the
 * next write, which carries the newest state: a store that was down gets every count back
 * in the cumulative counters (and, with `counters = "per-interval"`, everything since the
 * last write that succeeded), with bounded memory.
 */
export class RemoteWriteBackend implements Backend {
  readonly name: string;
  readonly busyPolicy = 'coalesce' as const;
  #config: RemoteWriteConfig;
  readonly #deps: RemoteWriteDeps;
  readonly #store: PromStore;
  readonly #poster: HttpPoster;
  /** Per-interval counters: each series' total at the last write that succeeded. */
  readonly #written = new Map<PromSeries, number>();
  #lastTimestampMs = 0;
  /** With `timers = "sub-metrics"`: the last interval's timer statistics, as gauges. */
  #timerSeries: TimeSeries[] = [];

  constructor(config: RemoteWriteConfig, shared: SharedBackendSettings, deps: RemoteWriteDeps) {
    this.name = deps.name;
    this.#config = config;
    this.#deps = deps;
    this.#store = new PromStore(
      mapperOf(config),
      shared.maxSeries,
      (reason, n) => deps.metrics.dropped(reason, n),
      new EnvoyTagExtractor(shared.envoyTagExtraction),
      shared.expiry,
    );
    this.#poster = new HttpPoster(
      {
        endpoint: config.url,
        timeoutMs: config.timeoutMs,
        maxConnections: 4,
        caFile: config.caFile,
        maxElapsedMs: config.maxRequestElapsedMs,
        what: 'remote write',
      },
      deps,
    );
  }

  get deliveryTimeoutMs(): number {
    return this.#poster.deliveryTimeoutMs;
  }

  async start(): Promise<void> {}

  /**
   * Applies the interval to the cumulative state (to the end, even past the deadline:
   * stopping half-way would lose counts), then writes the whole state.
   */
  /** The time series (labels and value) it would write after this interval; refusals are counted as in a flush. */
  explain(snapshot: FlushSnapshot): Explanation {
    const subMetrics = this.#config.timers === 'sub-metrics';
    this.#store.apply(snapshot, !subMetrics);
    const series = runToEnd(
      storeSeries(this.#store, snapshot.timestampMs, (_f, s) => s.value, this.#config.sendNativeHistograms),
    );
    if (subMetrics) series.push(...timerSubMetrics(snapshot));
    return explained(
      series.map((t) => {
        const name = t.labels.find((l) => l.name === '__name__')?.value ?? '';
        const labels = t.labels.filter((l) => l.name !== '__name__').map((l) => `${l.name}=${JSON.stringify(l.value)}`);
        const values = [
          ...t.samples.map((p) => String(p.value)),
          ...(t.histograms ?? []).map(
            (h) => `native histogram (count ${h.countInt}, sum ${h.sum}, schema ${h.schema})`,
          ),
        ];
        return `${name}{${labels.join(',')}} ${values.join(' ')}`;
      }),
      "the mapping drops these series or the store refuses them (see the prometheus backend's explanation)",
    );
  }

  async flush(snapshot: FlushSnapshot, signal: AbortSignal, hurry?: AbortSignal): Promise<void> {
    const subMetrics = this.#config.timers === 'sub-metrics';
    await runChunked(this.#store.applyChunked(snapshot, !subMetrics));
    this.#deps.metrics.leftOutAtFlush?.(this.#store.refusedAtLastApply);
    // Per-interval statistics: the newest interval's replace what was not written yet.
    if (subMetrics) this.#timerSeries = timerSubMetrics(snapshot);
    await runChunked(this.#store.expireChunked(snapshot.timestampMs));
    this.#lastTimestampMs = snapshot.timestampMs;
    await this.#write(signal, hurry);
  }

  /** Writes the whole state once, in requests of at most `max-samples-per-request`. */
  async #write(signal: AbortSignal, hurry: AbortSignal | undefined): Promise<void> {
    const perInterval = this.#config.counters === 'per-interval';
    const taken = new Map<PromSeries, number>();
    const counterValue = (_f: Family, s: PromSeries): number => {
      if (!perInterval) return s.value;
      taken.set(s, s.value);
      return s.value - (this.#written.get(s) ?? 0);
    };
    const series = await runChunked(
      storeSeries(this.#store, this.#lastTimestampMs, counterValue, this.#config.sendNativeHistograms),
    );
    series.push(...this.#timerSeries);
    const snappy = require('snappy') as typeof Snappy;
    const send = (part: TimeSeries[]): Promise<DeliveryResult> =>
      this.#poster.post(
        '',
        snappy.compressSync(Buffer.from(encodeWriteRequest(part))),
        () => this.#headers(),
        part.length,
        signal,
        hurry,
      );
    const max = this.#config.maxSamplesPerRequest;
    const samples = series.filter((t) => t.histograms === undefined);
    await this.#poster.postAll(inBatches(samples, max), 1, send);
    // Reached only when every request of samples was delivered (postAll rejects otherwise).
    if (perInterval) for (const [s, v] of taken) this.#written.set(s, v);
    // Native histograms go in requests of their own, after the samples: a receiver that
    // refuses them (Prometheus without the feature answers HTTP 500) still gets every sample.
    const histograms = series.filter((t) => t.histograms !== undefined);
    await this.#poster.postAll(inBatches(histograms, max), 1, send);
  }

  /** Request headers; credentials are read from their files for each request (a rotated Secret applies). */
  #headers(): Record<string, string> {
    const c = this.#config;
    const h: Record<string, string> = {
      ...c.headers,
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    };
    try {
      if (c.bearerTokenFile !== '') h['authorization'] = `Bearer ${readFileSync(c.bearerTokenFile, 'utf8').trim()}`;
      else if (c.username !== '')
        h['authorization'] =
          'Basic ' + Buffer.from(`${c.username}:${readFileSync(c.passwordFile, 'utf8').trim()}`).toString('base64');
    } catch (err) {
      // The message names the file, never its content.
      this.#poster.failures.maybe('credentials', () =>
        this.#deps.logger.warn({ err: errorMessage(err) }, 'remote write credentials could not be read'),
      );
    }
    return h;
  }

  async sendEvent(): Promise<void> {}

  async shutdown(): Promise<void> {
    await this.#poster.destroy();
  }
}
