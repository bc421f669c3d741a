import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { runChunked, runToEnd } from '../../shared/cooperative.js';
import type { StatsdEvent } from '../../parser/sample.js';
import type { Backend, BackendDeps, Explanation, SharedBackendSettings } from '../backend.js';
import { explained } from '../shared/explained.js';
import { gzip, HttpPoster, type DeliveryResult, type PartialAnswer } from '../shared/http-delivery.js';
import type { OtlpConfig } from './config.js';
import {
  encodeLogs,
  encodeMetrics,
  eventLogRecord,
  load,
  metricBatches,
  rejectedOf,
  type Placement,
} from './request.js';

/** Extra dependencies of {@link OtlpBackend} (tests fix the jitter). */
export interface OtlpDeps extends BackendDeps {
  random?: () => number;
}

/** How much of an answer is read for its partial-success message. */
const ANSWER_BYTES = 16_384;

/**
 * OtlpBackend exports each interval over OTLP/HTTP (protobuf, or JSON on request) to an
 * OpenTelemetry Collector or any OTLP receiver: counters as delta monotonic Sums, gauges
 * as Gauges, sets as Gauges of their size, timers as delta ExponentialHistograms (or
 * explicit-bucket Histograms, or gostatsd's gauges: `conversion`). Events go to the logs
 * endpoint as log records. Tags named in `resource_keys`, `resource_attributes` and the
 * pod's tags describe the resource; the other tags are data point attributes.
 *
 * Requests hold at most `metrics_per_batch` data points, gzip-compressed by default,
 * `max_requests` at once. A failed attempt (network, 5xx, 429, 408) is retried with
 * back-off, never sooner than `Retry-After`, at most `max_retries` times within
 * `max_request_elapsed_time`; another 4xx is dropped and counted as `rejected`. A 2xx
 * whose partial success refuses points counts them as dropped (`rejected`) and is not
 * retried, as OTLP asks. While an interval is in delivery, the next ones are merged
 * (busy policy `coalesce`): the delta counts of an outage arrive in one later interval.
 */
export class OtlpBackend implements Backend {
  readonly name: string;
  readonly busyPolicy = 'coalesce' as const;
  readonly #config: OtlpConfig;
  readonly #deps: OtlpDeps;
  readonly #placement: Placement;
  readonly #metrics: HttpPoster;
  readonly #logs: HttpPoster;
  readonly #metricsAnswer: PartialAnswer;
  readonly #logsAnswer: PartialAnswer;

  constructor(config: OtlpConfig, shared: SharedBackendSettings, deps: OtlpDeps) {
    this.name = deps.name;
    this.#config = config;
    this.#deps = deps;
    this.#placement = {
      resourceKeys: new Set(config.resourceKeys),
      staticResource: { ...config.resourceAttributes, ...shared.podTags?.resource },
      podTags: new Set(shared.podTags?.tags ?? []),
    };
    const poster = (endpoint: string, what: string): HttpPoster =>
      new HttpPoster(
        {
          endpoint,
          timeoutMs: config.clientTimeoutMs,
          maxConnections: config.maxRequests,
          caFile: config.caFile,
          userAgent: config.userAgent,
          maxElapsedMs: config.maxRequestElapsedMs,
          maxAttempts: config.maxRetries + 1,
          what,
        },
        deps,
      );
    this.#metrics = poster(config.metricsEndpoint, 'otlp metrics');
    this.#logs = poster(config.logsEndpoint, 'otlp logs');
    const enc = config.encoding;
    this.#metricsAnswer = {
      answerBytes: ANSWER_BYTES,
      rejected: (a) => this.#partial(a.bytes, (b) => rejectedOf('metrics', b, enc)),
    };
    this.#logsAnswer = {
      answerBytes: ANSWER_BYTES,
      rejected: (a) => this.#partial(a.bytes, (b) => rejectedOf('logs', b, enc)),
    };
  }

  get deliveryTimeoutMs(): number {
    return this.#metrics.deliveryTimeoutMs;
  }

  /** Loads the OpenTelemetry serializers now, not in the first interval's delivery time. */
  async start(): Promise<void> {
    load();
  }

  /** The data points it would export, with their kind, attributes and resource. */
  explain(snapshot: FlushSnapshot): Explanation {
    const lines: string[] = [];
    for (const batch of runToEnd(metricBatches(snapshot, this.#config, this.#placement)))
      for (const r of batch.resources.values())
        for (const m of r.metrics.values())
          for (const p of m.points) {
            const kind = m.kind === 'sum' ? `sum(delta${m.monotonic ? ', monotonic' : ''})` : m.kind;
            lines.push(
              `${kind} ${m.name}${JSON.stringify(p.attributes)} ${JSON.stringify(p.value)} resource=${JSON.stringify(r.resource)}`,
            );
          }
    return explained(lines);
  }

  async flush(snapshot: FlushSnapshot, signal: AbortSignal, hurry?: AbortSignal): Promise<void> {
    const startMs = snapshot.timestampMs - Math.round(snapshot.intervalSeconds * 1000);
    const batches = await runChunked(metricBatches(snapshot, this.#config, this.#placement));
    await this.#metrics.postAll(batches, this.#config.maxRequests, async (batch) =>
      this.#post(
        this.#metrics,
        encodeMetrics(batch.toResourceMetrics(startMs, snapshot.timestampMs), this.#config.encoding),
        batch.points,
        this.#metricsAnswer,
        signal,
        hurry,
      ),
    );
  }

  async sendEvent(e: StatsdEvent, signal: AbortSignal): Promise<void> {
    const record = eventLogRecord(e, this.#config, this.#placement, this.#deps.clock.now());
    await this.#post(this.#logs, encodeLogs([record], this.#config.encoding), 1, this.#logsAnswer, signal);
  }

  async #post(
    to: HttpPoster,
    raw: Uint8Array,
    items: number,
    answer: PartialAnswer,
    signal: AbortSignal,
    hurry?: AbortSignal,
  ): Promise<DeliveryResult> {
    const body = this.#config.compress ? await gzip(raw) : raw;
    return to.post('', body, () => this.#headers(), items, signal, hurry, answer);
  }

  /** A partial-success answer read, or undefined (an answer it cannot read is logged, not counted). */
  #partial(
    bytes: Uint8Array | undefined,
    read: (b: Uint8Array) => { items: number; message: string } | undefined,
  ): { items: number; message: string } | undefined {
    if (bytes === undefined) return undefined;
    try {
      return read(bytes);
    } catch {
      this.#metrics.failures.maybe('answer', () =>
        this.#deps.logger.warn(
          { bytes: bytes.length },
          'otlp: the receiver answered 2xx with a body that is not an OTLP response',
        ),
      );
      return undefined;
    }
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = {
      ...this.#config.headers,
      'content-type': this.#config.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
    };
    if (this.#config.compress) h['content-encoding'] = 'gzip';
    return h;
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.#metrics.destroy(), this.#logs.destroy()]);
  }
}
