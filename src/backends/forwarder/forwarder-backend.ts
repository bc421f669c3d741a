import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { StatsdEvent } from '../../parser/sample.js';
import { RateLimitedLog } from '../../shared/logger.js';
import { encodeEventMessage, encodeRawMessage, eventToMessage } from '../../wire/gostatsd.js';
import type { Backend, BackendDeps } from '../backend.js';
import { deliver, GOSTATSD_BACKOFF, HttpClient, type DeliveryResult } from '../shared/http-delivery.js';
import type { ForwarderConfig } from './config.js';
import { RawBatch } from './raw-batch.js';

const require = createRequire(import.meta.url);

/** gostatsd's forwarder `User-Agent`. */
export const USER_AGENT = 'gostatsd (http forwarder)';

/** Extra dependencies of {@link ForwarderBackend} (tests fix the jitter). */
export interface ForwarderDeps extends BackendDeps {
  random?: () => number;
}

/**
 * ForwarderBackend feeds a gostatsd-compatible aggregation tier: what each interval
 * received is held in a {@link RawBatch} and POSTed as a `RawMessageV2` to
 * `<api-endpoint>/v2/raw` every `flush-interval`; events go to `/v2/event` one by one.
 *
 * Delivery: one batch is delivered at a time, split into requests of at most
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
  readonly #client: HttpClient;
  readonly #failures: RateLimitedLog;
  #pending = new RawBatch();
  /** Interval seconds merged since the last post started. */
  #sincePost = 0;
  #delivering: Promise<void> | undefined;
  /** Aborted at shutdown: deliveries waiting to retry give their data back at once. */
  readonly #stop = new AbortController();
  /** Aborted when the shutdown deadline passes: attempts on the wire fail. */
  readonly #deadline = new AbortController();
  readonly #events = new Set<Promise<unknown>>();

  constructor(config: ForwarderConfig, deps: ForwarderDeps) {
    this.name = deps.name;
    this.#config = config;
    this.#deps = deps;
    this.#failures = new RateLimitedLog(60_000, () => deps.clock.now());
    this.#client = new HttpClient({
      endpoint: config.apiEndpoint,
      timeoutMs: config.clientTimeoutMs,
      maxConnections: config.maxRequests,
      http2: config.http2,
      caFile: config.caFile,
      family: config.network === 'tcp4' ? 4 : config.network === 'tcp6' ? 6 : 0,
      userAgent: USER_AGENT,
    });
  }

  async start(): Promise<void> {}

  /** Series held for delivery (not yet in a request). */
  get pendingSeries(): number {
    return this.#pending.series;
  }

  /** Estimated bytes held for delivery (bounded by `max-pending-size`). */
  get pendingBytes(): number {
    return this.#pending.bytes;
  }

  /** Whether a delivery is running (posting, or waiting to retry). */
  get busy(): boolean {
    return this.#delivering !== undefined;
  }

  flush(snapshot: FlushSnapshot): Promise<void> {
    this.#hold(() => this.#pending.addSnapshot(snapshot, this.#config.maxPendingBytes));
    this.#sincePost += snapshot.intervalSeconds;
    // Due once the forwarder's interval has (about) passed, whatever the daemon's is.
    if (this.#sincePost * 1000 >= this.#config.flushIntervalMs - 500 * snapshot.intervalSeconds) this.#pump();
    return Promise.resolve();
  }

  /** Runs `add` on the pending batch and counts what the bound left out. */
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

  /** Starts delivering the pending batch unless a delivery is running or nothing is held. */
  #pump(): void {
    if (this.#delivering !== undefined || this.#pending.empty || this.#stop.signal.aborted) return;
    const batch = this.#pending;
    this.#pending = new RawBatch();
    this.#sincePost = 0;
    this.#delivering = this.#deliver(batch).finally(() => {
      this.#delivering = undefined;
      this.#pump();
    });
  }

  /**
   * Delivers a batch in requests of bounded size, `max-requests` at a time. `final`: the
   * shutdown round, retried until the deadline instead of giving data back.
   */
  async #deliver(batch: RawBatch, final = false): Promise<void> {
    const parts = batch.split(this.#config.maxSeriesPerRequest);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < parts.length) await this.#post(parts[next++]!, final);
    };
    await Promise.all(Array.from({ length: Math.min(this.#config.maxRequests, parts.length) }, worker));
  }

  async #post(part: RawBatch, final: boolean): Promise<void> {
    const series = part.series;
    const body = await this.#encode(encodeRawMessage(part.toMessage()));
    const result = await this.#send('/v2/raw', body, final ? NEVER : this.#stop.signal);
    if (result === 'delivered') this.#deps.metrics.sent(1, series);
    else if (result === 'stopped') this.#hold(() => this.#pending.mergeOlder(part, this.#config.maxPendingBytes));
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

  #send(path: string, body: Uint8Array, stop: AbortSignal): Promise<DeliveryResult> {
    const headers = {
      'content-type': 'application/x-protobuf',
      'content-encoding': this.#config.compress ? 'deflate' : 'identity',
    };
    return deliver((signal) => this.#client.post(path, body, headers, signal), {
      backoff: GOSTATSD_BACKOFF,
      maxElapsedMs: this.#config.maxRequestElapsedMs,
      clock: this.#deps.clock,
      random: this.#deps.random ?? Math.random,
      stop,
      signal: this.#deadline.signal,
      onFailure: (reason, status) => {
        this.#deps.metrics.sendError(status === undefined ? 'ENETWORK' : `HTTP_${status}`);
        this.#failures.maybe(`post ${status ?? 'network'}`, (suppressed) =>
          this.#deps.logger.warn({ url: this.#client.url(path), reason, suppressed }, 'forwarding attempt failed'),
        );
      },
    });
  }

  sendEvent(event: StatsdEvent): Promise<void> {
    const p = this.#encode(encodeEventMessage(eventToMessage(event)))
      .then((body) => this.#send('/v2/event', body, NEVER))
      .then((result) => {
        if (result === 'delivered') this.#deps.metrics.sent(1, 1);
        else this.#deps.metrics.dropped(result === 'rejected' ? 'rejected' : 'retry_expired', 1);
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
    const onDeadline = (): void => this.#deadline.abort();
    if (signal?.aborted === true) onDeadline();
    signal?.addEventListener('abort', onDeadline, { once: true });
    this.#stop.abort();
    try {
      await this.#delivering;
      const last = this.#pending;
      this.#pending = new RawBatch();
      if (!last.empty) await this.#deliver(last, true);
      await Promise.allSettled([...this.#events]);
    } finally {
      signal?.removeEventListener('abort', onDeadline);
      await this.#client.destroy();
    }
  }
}

/** A signal that never aborts. */
const NEVER = new AbortController().signal;
