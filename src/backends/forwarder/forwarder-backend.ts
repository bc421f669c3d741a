import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { StatsdEvent } from '../../parser/sample.js';
import { fnv1a } from '../../shared/hash.js';
import { abortWhen } from '../../shared/abort.js';
import { RateLimitedLog } from '../../shared/logger.js';
import { encodeEventMessage, encodeRawMessage, eventToMessage } from '../../wire/gostatsd.js';
import type { Backend, BackendDeps } from '../backend.js';
import {
  familyOf,
  HttpClient,
  postCounted,
  posterFor,
  type DeliveryResult,
  type Poster,
} from '../shared/http-delivery.js';
import type { ForwarderConfig } from './config.js';
import { RawBatch } from './raw-batch.js';

const require = createRequire(import.meta.url);

/** gostatsd's forwarder `User-Agent`. */
export const USER_AGENT = 'gostatsd (http forwarder)';

/** Extra dependencies of {@link ForwarderBackend} (tests fix the jitter). */
export interface ForwarderDeps extends BackendDeps {
  random?: () => number;
}

/** One endpoint of the tier: its connection pool, what waits for it, and its delivery. */
interface Lane {
  readonly poster: Poster;
  pending: RawBatch;
  delivering: Promise<void> | undefined;
}

/** A signal that never aborts. */
const NEVER = new AbortController().signal;

/**
 * ForwarderBackend feeds a gostatsd-compatible aggregation tier: what each interval
 * received is held in a {@link RawBatch} and POSTed as a `RawMessageV2` to
 * `<api-endpoint>/v2/raw` every `flush-interval`; events go to `/v2/event` one by one.
 * With several endpoints, each metric name is sent to one of them (a hash of the name),
 * so a series is always aggregated by the same instance.
 *
 * Delivery, per endpoint: one batch at a time, split into requests of at most
 * `max-series-per-request` series, `max-requests` of them at once. A failed request is
 * retried with gostatsd's back-off until `max-request-elapsed-time`; intervals that
 * arrive meanwhile are merged into the next batch (not queued one request each), up to
 * `max-pending-size`. Whatever passes the bound or the elapsed time, or is refused with a
 * 4xx, is dropped and counted. Shutdown posts everything still held once more, within
 * the shutdown deadline.
 */
export class ForwarderBackend implements Backend {
  readonly name: string;
  readonly busyPolicy = 'coalesce' as const;
  readonly #config: ForwarderConfig;
  readonly #deps: ForwarderDeps;
  readonly #lanes: Lane[];
  readonly #failures: RateLimitedLog;
  readonly #headers: Record<string, string>;
  /** Interval seconds merged since the last post started. */
  #sincePost = 0;
  /** Aborted at shutdown: deliveries waiting to retry give their data back at once. */
  readonly #stop = new AbortController();
  /** Aborted when the shutdown deadline passes: attempts on the wire fail. */
  readonly #deadline = new AbortController();
  readonly #events = new Set<Promise<unknown>>();

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
      poster: posterFor(
        new HttpClient({
          endpoint,
          timeoutMs: config.clientTimeoutMs,
          maxConnections: config.maxRequests,
          http2: config.http2,
          caFile: config.caFile,
          family: familyOf(config.network),
          userAgent: USER_AGENT,
        }),
        deps,
        config.maxRequestElapsedMs,
        'forwarding',
      ),
      pending: new RawBatch(),
      delivering: undefined,
    }));
  }

  async start(): Promise<void> {}

  /** Series held for delivery (not yet in a request). */
  get pendingSeries(): number {
    return this.#lanes.reduce((n, l) => n + l.pending.series, 0);
  }

  /** Estimated bytes held for delivery (bounded by `max-pending-size`). */
  get pendingBytes(): number {
    return this.#lanes.reduce((n, l) => n + l.pending.bytes, 0);
  }

  /** Whether a delivery is running (posting, or waiting to retry). */
  get busy(): boolean {
    return this.#lanes.some((l) => l.delivering !== undefined);
  }

  /** Each lane's share of `max-pending-size`. */
  get #laneBytes(): number {
    return Math.floor(this.#config.maxPendingBytes / this.#lanes.length);
  }

  flush(snapshot: FlushSnapshot): Promise<void> {
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
    if (this.#sincePost * 1000 >= this.#config.flushIntervalMs - 500 * snapshot.intervalSeconds) {
      this.#sincePost = 0;
      for (const lane of this.#lanes) this.#pump(lane);
    }
    return Promise.resolve();
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

  /** Starts delivering a lane's pending batch unless it is delivering already or holds nothing. */
  #pump(lane: Lane): void {
    if (lane.delivering !== undefined || lane.pending.empty || this.#stop.signal.aborted) return;
    const batch = lane.pending;
    lane.pending = new RawBatch();
    lane.delivering = this.#deliver(lane, batch, false).finally(() => {
      lane.delivering = undefined;
      this.#pump(lane);
    });
  }

  /**
   * Delivers a batch in requests of bounded size, `max-requests` at a time. `final`: the
   * shutdown round, retried until the deadline instead of giving data back.
   */
  async #deliver(lane: Lane, batch: RawBatch, final: boolean): Promise<void> {
    const parts = batch.split(this.#config.maxSeriesPerRequest);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < parts.length) await this.#post(lane, parts[next++]!, final);
    };
    await Promise.all(Array.from({ length: Math.min(this.#config.maxRequests, parts.length) }, worker));
  }

  async #post(lane: Lane, part: RawBatch, final: boolean): Promise<void> {
    const series = part.series;
    const body = await this.#encode(encodeRawMessage(part.toMessage()));
    const result = await this.#send(lane, '/v2/raw', body, final ? NEVER : this.#stop.signal);
    if (result === 'delivered') this.#deps.metrics.sent(1, series);
    else if (result === 'stopped') this.#hold(() => lane.pending.mergeOlder(part, this.#laneBytes));
    else this.#deps.metrics.dropped(result === 'rejected' ? 'rejected' : final ? 'shutdown' : 'retry_expired', series);
  }

  /** The body as sent: a zlib stream when `compress`. */
  #encode(bytes: Uint8Array): Promise<Uint8Array> {
    if (!this.#config.compress) return Promise.resolve(bytes);
    const zlib = require('node:zlib') as typeof Zlib;
    return new Promise((resolve, reject) =>
      zlib.deflate(bytes, (err, out) => (err === null ? resolve(out) : reject(err))),
    );
  }

  #send(lane: Lane, path: string, body: Uint8Array, stop: AbortSignal): Promise<DeliveryResult> {
    return postCounted(lane.poster, path, body, () => this.#headers, stop, this.#deadline.signal);
  }

  /**
   * Posts the event to `/v2/event` of the first endpoint, retried like metrics; one still
   * waiting to retry at shutdown is dropped and counted.
   */
  sendEvent(event: StatsdEvent): Promise<void> {
    const p = this.#encode(encodeEventMessage(eventToMessage(event)))
      .then((body) => this.#send(this.#lanes[0]!, '/v2/event', body, this.#stop.signal))
      .then((result) => {
        if (result === 'delivered') this.#deps.metrics.sent(1, 1);
        else
          this.#deps.metrics.dropped(
            result === 'rejected' ? 'rejected' : result === 'stopped' ? 'shutdown' : 'retry_expired',
            1,
          );
      });
    this.#events.add(p);
    void p.finally(() => this.#events.delete(p));
    return p;
  }

  /**
   * Drains: deliveries waiting to retry give their data back, then everything held is
   * posted once more (retried until `signal` aborts); what is still undelivered then is
   * dropped and counted.
   */
  async shutdown(signal?: AbortSignal): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const unfollow = abortWhen(signal, this.#deadline);
    this.#stop.abort();
    try {
      await Promise.all(
        this.#lanes.map(async (lane) => {
          await lane.delivering;
          const last = lane.pending;
          lane.pending = new RawBatch();
          if (!last.empty) await this.#deliver(lane, last, true);
        }),
      );
      await Promise.allSettled([...this.#events]);
    } finally {
      unfollow();
      await Promise.all(this.#lanes.map((l) => l.poster.client.destroy()));
    }
  }
}
