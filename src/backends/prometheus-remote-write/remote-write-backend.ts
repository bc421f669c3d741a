import { EnvoyTagExtractor } from '../../shared/envoy-tags.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Snappy from 'snappy';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { runChunked } from '../../shared/cooperative.js';
import { errorMessage } from '../../shared/errors.js';
import { abortWhen } from '../../shared/abort.js';
import type { Backend, BackendDeps, SharedBackendSettings } from '../backend.js';
import { mapperOf } from '../prometheus/config.js';
import { PromStore, type Family, type PromSeries } from '../prometheus/store.js';
import { HttpClient, postCounted, posterFor, type Poster } from '../shared/http-delivery.js';
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
 * One write runs at a time. A failed attempt (network, 5xx, 429) is retried with
 * back-off, no sooner than `Retry-After`, until `max-request-elapsed-time`; another 4xx
 * is dropped and counted as `rejected`, the receiver's answer logged once a minute.
 * Intervals that end meanwhile are only applied to the state: the next write carries the
 * newest state, so a store that was down gets every count back in the cumulative
 * counters (and, with `counters = "per-interval"`, everything since the last write that
 * succeeded), with bounded memory.
 */
export class RemoteWriteBackend implements Backend {
  readonly name: string;
  readonly busyPolicy = 'coalesce' as const;
  #config: RemoteWriteConfig;
  readonly #deps: RemoteWriteDeps;
  readonly #store: PromStore;
  readonly #poster: Poster;
  /** Per-interval counters: each series' total at the last write that succeeded. */
  readonly #written = new Map<PromSeries, number>();
  #writing: Promise<void> | undefined;
  /** An interval was applied while a write ran: write again when it ends. */
  #dirty = false;
  /** The last write did not deliver everything. */
  #unsent = false;
  #lastTimestampMs = 0;
  /** With `timers = "sub-metrics"`: the last interval's timer statistics, as gauges. */
  #timerSeries: TimeSeries[] = [];
  /** Aborted at shutdown: a write waiting to retry gives up (the final write carries its state). */
  readonly #stop = new AbortController();
  /** Aborted when the shutdown deadline passes: an attempt on the wire fails. */
  readonly #deadline = new AbortController();

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
    const client = new HttpClient({
      endpoint: config.url,
      timeoutMs: config.timeoutMs,
      maxConnections: 4,
      http2: false,
      caFile: config.caFile,
      family: 0,
      userAgent: 'statsd-sepagent',
    });
    this.#poster = posterFor(client, deps, config.maxRequestElapsedMs, 'remote write');
  }

  async start(): Promise<void> {}

  /** Whether a write is running (posting, or waiting to retry). */
  get busy(): boolean {
    return this.#writing !== undefined;
  }

  /**
   * Applies the interval to the cumulative state (to the end, even past the deadline:
   * stopping half-way would lose counts), then starts a write unless one is running.
   */
  async flush(snapshot: FlushSnapshot, _signal: AbortSignal): Promise<void> {
    const subMetrics = this.#config.timers === 'sub-metrics';
    await runChunked(this.#store.applyChunked(snapshot, !subMetrics));
    // Per-interval statistics: the newest interval's replace what was not written yet.
    if (subMetrics) this.#timerSeries = timerSubMetrics(snapshot);
    await runChunked(this.#store.expireChunked(snapshot.timestampMs));
    this.#lastTimestampMs = snapshot.timestampMs;
    this.#dirty = true;
    this.#pump();
  }

  #pump(): void {
    if (this.#writing !== undefined || !this.#dirty || this.#stop.signal.aborted) return;
    this.#dirty = false;
    this.#writing = this.#write(this.#stop.signal).finally(() => {
      this.#writing = undefined;
      this.#pump();
    });
  }

  /** Writes the whole state once, in bounded requests; `stop` ends a wait to retry. */
  async #write(stop: AbortSignal): Promise<void> {
    const perInterval = this.#config.counters === 'per-interval';
    const taken = new Map<PromSeries, number>();
    const counterValue = (_f: Family, s: PromSeries): number => {
      if (!perInterval) return s.value;
      taken.set(s, s.value);
      return s.value - (this.#written.get(s) ?? 0);
    };
    const series = await runChunked(storeSeries(this.#store, this.#lastTimestampMs, counterValue));
    series.push(...this.#timerSeries);
    let ok = true;
    for (const part of chunks(series, this.#config.maxSamplesPerRequest)) {
      const result = await this.#send(part, stop);
      if (result !== 'delivered') ok = false;
    }
    this.#unsent = !ok;
    if (ok && perInterval) for (const [s, v] of taken) this.#written.set(s, v);
  }

  async #send(part: TimeSeries[], stop: AbortSignal): Promise<string> {
    const snappy = require('snappy') as typeof Snappy;
    const body = snappy.compressSync(Buffer.from(encodeWriteRequest(part)));
    const m = this.#deps.metrics;
    const result = await postCounted(this.#poster, '', body, () => this.#headers(), stop, this.#deadline.signal);
    if (result === 'delivered') m.sent(1, part.length);
    // A write stopped at shutdown is not lost: the final write carries the same state.
    else if (result !== 'stopped') m.dropped(result === 'rejected' ? 'rejected' : 'retry_expired', part.length);
    return result;
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

  /**
   * Stops waiting to retry, then writes the final state once more (retried until
   * `signal` aborts).
   */
  async shutdown(signal?: AbortSignal): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const unfollow = abortWhen(signal, this.#deadline);
    this.#stop.abort();
    try {
      await this.#writing;
      if (this.#dirty || this.#unsent) await this.#write(new AbortController().signal);
    } finally {
      unfollow();
      await this.#poster.client.destroy();
    }
  }
}

function* chunks(series: TimeSeries[], maxSamples: number): Generator<TimeSeries[]> {
  for (let i = 0; i < series.length; i += maxSamples) yield series.slice(i, i + maxSamples);
}
