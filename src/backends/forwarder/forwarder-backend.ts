import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { StatsdEvent } from '../../parser/sample.js';
import { fnv1a } from '../../shared/hash.js';
import { RateLimitedLog } from '../../shared/logger.js';
import { encodeEventMessage, encodeRawMessage, eventToMessage } from '../../wire/gostatsd.js';
import type { Backend, BackendDeps, Explanation } from '../backend.js';
import { explained } from '../shared/explained.js';
import { deflate, familyOf, HttpPoster, type DeliveryResult } from '../shared/http-delivery.js';
import type { ForwarderConfig } from './config.js';
import { RawBatch } from './raw-batch.js';

/** gostatsd's forwarder `User-Agent`. */
export const USER_AGENT = 'gostatsd (http forwarder)';

/** Extra dependencies of {@link ForwarderBackend} (tests fix the jitter). */
export interface ForwarderDeps extends BackendDeps {
  random?: () => number;
}

/** At shutdown a post is tried once, without waiting to retry. */
const HURRIED = AbortSignal.abort();

/** One endpoint of the tier: its poster and what waits for its next post. */
interface Lane {
  readonly poster: HttpPoster;
  pending: RawBatch;
}

/**
 * ForwarderBackend feeds a gostatsd-compatible aggregation tier: what each interval
 * received is held in a {@link RawBatch} and POSTed as a `RawMessageV2` to
 * `<api-endpoint>/v2/raw` every `flush-interval`; events go to `/v2/event` one by one.
 * With several endpoints, each metric name is sent to one of them (a hash of the name),
 * so a series is always aggregated by the same instance.
 *
 * Delivery, per endpoint: the batch in requests of at most `max-series-per-request`
 * series, `max-requests` of them at once, bounded by `max-pending-size`. A failed request
 * is retried with gostatsd's back-off until `max-request-elapsed-time`; intervals that end
 * meanwhile are merged by the flusher (busy policy `coalesce`) and go in the next batch.
 * Whatever passes the bound or the elapsed time, or is refused with a 4xx, is dropped and
 * counted. Shutdown posts what is still held once, within the shutdown deadline.
 */
export class ForwarderBackend implements Backend {
  readonly name: string;
  readonly busyPolicy = 'coalesce' as const;
  readonly #config: ForwarderConfig;
  readonly #deps: ForwarderDeps;
  readonly #lanes: Lane[];
  readonly #failures: RateLimitedLog;
  readonly #headers: Record<string, string>;
  /** Interval seconds held since the last post. */
  #sincePost = 0;

  constructor(config: ForwarderConfig, deps: ForwarderDeps) {
    this.name = deps.name;
    this.#config = config;
    this.#headers = {
      'content-type': 'application/x-protobuf',
      'content-encoding': config.compress ? 'deflate' : 'identity',
    };
    this.#deps = deps;
    this.#failures = new RateLimitedLog(60_000, () => deps.clock.now());
    this.#lanes = config.apiEndpoints.map((endpoint) => ({
      poster: new HttpPoster(
        {
          endpoint,
          timeoutMs: config.clientTimeoutMs,
          maxConnections: config.maxRequests,
          http2: config.http2,
          caFile: config.caFile,
          family: familyOf(config.network),
          userAgent: USER_AGENT,
          maxElapsedMs: config.maxRequestElapsedMs,
          what: 'forwarding',
        },
        deps,
      ),
      pending: new RawBatch(),
    }));
  }

  get deliveryTimeoutMs(): number {
    return this.#lanes[0]!.poster.deliveryTimeoutMs;
  }

  async start(): Promise<void> {}

  /** Series held for the next post (not yet in a request). */
  get pendingSeries(): number {
    return this.#lanes.reduce((n, l) => n + l.pending.series, 0);
  }

  /** Estimated bytes held for the next post (bounded by `max-pending-size`). */
  get pendingBytes(): number {
    return this.#lanes.reduce((n, l) => n + l.pending.bytes, 0);
  }

  /** Each lane's share of `max-pending-size`. */
  get #laneBytes(): number {
    return Math.floor(this.#config.maxPendingBytes / this.#lanes.length);
  }

  /** The `RawMessageV2` it would post to `/v2/raw`, as JSON. */
  explain(snapshot: FlushSnapshot): Explanation {
    const batch = new RawBatch();
    batch.addSnapshot(snapshot, Number.MAX_SAFE_INTEGER);
    return explained(batch.empty ? [] : [JSON.stringify(batch.toMessage())]);
  }

  /** Holds the interval; once the forwarder's own interval has (about) passed, posts what is held. */
  async flush(snapshot: FlushSnapshot, signal: AbortSignal, hurry?: AbortSignal): Promise<void> {
    const n = this.#lanes.length;
    this.#lanes.forEach((lane, i) =>
      this.#hold(() =>
        lane.pending.addSnapshot(
          snapshot,
          this.#laneBytes,
          n === 1 ? undefined : (name) => (fnv1a(name) >>> 0) % n === i,
        ),
      ),
    );
    this.#sincePost += snapshot.intervalSeconds;
    // Due once the forwarder's interval has (about) passed, whatever the daemon's is.
    if (this.#sincePost * 1000 < this.#config.flushIntervalMs - 500 * snapshot.intervalSeconds) return;
    this.#sincePost = 0;
    await this.#postHeld(signal, hurry);
  }

  /** Posts every lane's held batch, the lanes at once. */
  async #postHeld(signal: AbortSignal, hurry?: AbortSignal): Promise<void> {
    // Every lane to its end, then the first failure (its drops are counted already).
    const settled = await Promise.allSettled(
      this.#lanes.map(async (lane) => {
        const batch = lane.pending;
        lane.pending = new RawBatch();
        if (batch.empty) return;
        await lane.poster.postAll(batch.split(this.#config.maxSeriesPerRequest), this.#config.maxRequests, (part) =>
          this.#post(lane, '/v2/raw', encodeRawMessage(part.toMessage()), part.series, signal, hurry),
        );
      }),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Runs `add` on a pending batch and counts what the bound left out. */
  #hold(add: () => number): void {
    const dropped = add();
    if (dropped > 0) {
      this.#deps.metrics.dropped('buffer_full', dropped);
      this.#failures.maybe('buffer_full', (suppressed) =>
        this.#deps.logger.warn(
          { dropped, maxPendingSize: this.#config.maxPendingBytes, suppressed },
          'forwarder buffer full: series dropped (the aggregation tier is unreachable or slow)',
        ),
      );
    }
  }

  async #post(
    lane: Lane,
    path: string,
    bytes: Uint8Array,
    items: number,
    signal: AbortSignal,
    hurry?: AbortSignal,
  ): Promise<DeliveryResult> {
    const body = this.#config.compress ? await deflate(bytes) : bytes;
    return lane.poster.post(path, body, () => this.#headers, items, signal, hurry);
  }

  /** Posts the event to `/v2/event` of the first endpoint, retried like metrics within `signal`. */
  async sendEvent(event: StatsdEvent, signal: AbortSignal): Promise<void> {
    await this.#post(this.#lanes[0]!, '/v2/event', encodeEventMessage(eventToMessage(event)), 1, signal);
  }

  /** Posts what is still held (an interval shorter than the forwarder's) once, within `signal`. */
  async shutdown(signal?: AbortSignal): Promise<void> {
    try {
      await this.#postHeld(signal ?? new AbortController().signal, HURRIED);
    } catch {
      // What was not delivered is counted as dropped.
    } finally {
      await Promise.all(this.#lanes.map((l) => l.poster.destroy()));
    }
  }
}
