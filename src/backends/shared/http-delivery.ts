import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import { undici } from '../../shared/undici.js';
import type * as Zlib from 'node:zlib';
import { systemClock, type Clock } from '../../shared/clock.js';
import { BackendError, errorMessage } from '../../shared/errors.js';
import { RateLimitedLog, type Logger } from '../../shared/logger.js';
import type { BackendMetrics } from '../backend.js';
import { redact, secretsOf } from './redact.js';

const require = createRequire(import.meta.url);

/** How much of an answer's body is kept (for logs). */
const ANSWER_CHARS = 512;
/** How much of an answer's body a caller may read whole ({@link HttpClient.post}'s `answerBytes`). */
const MAX_ANSWER_BYTES = 65_536;

/** Settings of {@link HttpClient}. */
export interface HttpClientOptions {
  /** Base URL: scheme, host, port, an optional path prefix and query (`https://agg:8080`, `http://h/api/v1/write`). */
  endpoint: string;
  /** Longest time one attempt may take, connect to last body byte, in ms. */
  timeoutMs: number;
  /** Most connections (HTTP/1.1) or streams (HTTP/2) at once. */
  maxConnections: number;
  /** Offer HTTP/2 over TLS (ALPN); plain http stays HTTP/1.1 (default: no). */
  http2?: boolean;
  /** PEM file with the CA certificates to trust instead of the system's (default '': the system's). */
  caFile?: string;
  /** Address family to connect with: 4, 6, or 0 for either (the default). */
  family?: 0 | 4 | 6;
  /** `User-Agent` of every request (default `statsd-sepagent`). */
  userAgent?: string;
  /** Time (for `Retry-After` dates; default: the system clock). */
  clock?: Clock;
}

/** The answer to one attempt: its status and the start of its body (for logs). */
export interface HttpAnswer {
  status: number;
  body: string;
  /** The answer's `Retry-After`, in ms, when it has one. */
  retryAfterMs?: number;
  /** The body's first `answerBytes` bytes as received, when the caller asked for them (never logged). */
  bytes?: Uint8Array;
  /** The answer's content type (`''` when absent). */
  contentType?: string;
}

/** `Retry-After` as ms: delay-seconds or an HTTP date (relative to `nowMs`); undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * HttpClient posts to one endpoint over a keep-alive undici Pool: at most
 * `maxConnections` requests at once (the rest queue in the pool), TLS 1.2 or later, each
 * attempt bounded by `timeoutMs` as well as by the caller's signal. undici is loaded on
 * first use.
 */
export class HttpClient {
  readonly #opts: HttpClientOptions;
  readonly #base: URL;
  #pool: Undici.Pool | undefined;

  constructor(opts: HttpClientOptions) {
    this.#opts = opts;
    this.#base = new URL(opts.endpoint);
  }

  #dispatcher(): Undici.Pool {
    if (this.#pool === undefined) {
      const o = this.#opts;
      this.#pool = new (undici().Pool)(this.#base.origin, {
        connections: o.maxConnections,
        allowH2: o.http2 === true,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        connect: {
          timeout: o.timeoutMs,
          minVersion: 'TLSv1.2',
          ...(o.caFile === undefined || o.caFile === '' ? {} : { ca: readFileSync(o.caFile) }),
          ...(o.family === undefined || o.family === 0 ? {} : { family: o.family }),
        },
      });
    }
    return this.#pool;
  }

  /** The URL of `path` under the endpoint (its path prefix kept). */
  url(path: string): string {
    return this.#base.origin + this.#base.pathname.replace(/\/+$/, '') + path;
  }

  /**
   * POSTs `body` to `path` under the endpoint. Resolves with any HTTP answer; rejects on a
   * network error, a timeout or when `signal` aborts. With `answerBytes`, the answer
   * carries up to that many bytes of its body as received (at most 64 KiB).
   */
  async post(
    path: string,
    body: Uint8Array,
    headers: Record<string, string>,
    signal: AbortSignal,
    answerBytes = 0,
  ): Promise<HttpAnswer> {
    const res = await undici().request(this.#dispatcher(), {
      method: 'POST',
      // An endpoint without a path (`http://host:port`) posts to `/`.
      path: (this.#base.pathname.replace(/\/+$/, '') + path || '/') + this.#base.search,
      headers: { 'user-agent': this.#opts.userAgent ?? 'statsd-sepagent', ...headers },
      body,
      signal,
    });
    // The start of the body is kept; past it the body is not read (the connection is
    // dropped), so a misbehaving endpoint cannot make us buffer much.
    const limit = Math.max(ANSWER_CHARS, Math.min(answerBytes, MAX_ANSWER_BYTES));
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const b = Buffer.from(chunk as Uint8Array);
      chunks.push(b);
      size += b.length;
      if (size >= limit) {
        res.body.destroy();
        break;
      }
    }
    const raw = Buffer.concat(chunks, Math.min(size, limit));
    // The request's own credentials never reach a log, even from a peer that echoes them.
    const answer: HttpAnswer = {
      status: res.statusCode,
      body: redact(raw.subarray(0, ANSWER_CHARS).toString('utf8'), secretsOf(headers)),
    };
    if (answerBytes > 0) {
      answer.bytes = raw;
      answer.contentType = String(res.headers['content-type'] ?? '');
    }
    const after = retryAfterMs(res.headers['retry-after'], (this.#opts.clock ?? systemClock).now());
    if (after !== undefined) answer.retryAfterMs = after;
    return answer;
  }

  /** Ends every connection now, failing requests in flight. */
  async destroy(): Promise<void> {
    const p = this.#pool;
    this.#pool = undefined;
    if (p !== undefined) await p.destroy();
  }
}

/** Exponential back-off between attempts (the shape of gostatsd's, from cenkalti/backoff). */
export interface Backoff {
  initialMs: number;
  multiplier: number;
  /** Each delay is drawn from [d × (1 − r), d × (1 + r)]. */
  randomization: number;
  maxIntervalMs: number;
}

/** gostatsd's forwarder back-off: 0.5 s, × 1.5 per attempt, ± 50 %, at most 60 s. */
export const GOSTATSD_BACKOFF: Backoff = { initialMs: 500, multiplier: 1.5, randomization: 0.5, maxIntervalMs: 60_000 };

/** The wait after failed attempt number `attempt` (0 = the first). */
export function backoffDelay(attempt: number, b: Backoff, random: () => number): number {
  const base = Math.min(b.initialMs * b.multiplier ** attempt, b.maxIntervalMs);
  return base * (1 - b.randomization + 2 * b.randomization * random());
}

/** The longest total of the waits before retries `1..retries` (each at its largest draw). */
export function maxBackoffTotal(b: Backoff, retries: number): number {
  let total = 0;
  for (let n = 0; n < retries; n++)
    total += Math.min(b.initialMs * b.multiplier ** n, b.maxIntervalMs) * (1 + b.randomization);
  return total;
}

/** Whether an HTTP status is worth another attempt: 5xx, 429 (too many requests), 408 (timeout). */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** What became of a delivery. */
export type DeliveryResult =
  /** A 2xx answer. */
  | 'delivered'
  /** A 4xx answer other than 408 and 429: the endpoint refuses it, trying again will not help. */
  | 'rejected'
  /** Every attempt failed and the elapsed-time budget is spent, or the delivery's deadline passed. */
  | 'expired';

/** Counts `items` delivered in one request, or dropped with the reason of `result`. */
export function countDelivery(metrics: BackendMetrics, result: DeliveryResult, items: number): void {
  if (result === 'delivered') metrics.sent(1, items);
  else metrics.dropped(result === 'rejected' ? 'rejected' : 'retry_expired', items);
}

/** Settings of {@link deliver}. */
export interface DeliveryOptions {
  backoff: Backoff;
  /** No attempt starts later than this after the first (gostatsd's `max-request-elapsed-time`). */
  maxElapsedMs: number;
  /** At most this many attempts (a retry count, as CloudWatch's `max_retries` + 1); unbounded when absent. */
  maxAttempts?: number;
  clock: Clock;
  random: () => number;
  /** The delivery's deadline: aborting it fails the attempt on the wire or ends a wait (`expired`). */
  signal: AbortSignal;
  /** Aborted at shutdown: a wait to retry ends at once, and the next attempt is the last. */
  hurry?: AbortSignal | undefined;
  /** Called after each failed attempt (for counting and rate-limited logs). */
  onFailure?: (reason: string, status: number | undefined) => void;
  /** Called with each attempt's duration in seconds. */
  onAttempt?: (seconds: number) => void;
}

/**
 * Runs `attempt` until it succeeds, is refused, or the elapsed-time budget is spent,
 * waiting with back-off and jitter in between, and never sooner than an answer's
 * `Retry-After`.
 */
export async function deliver(
  attempt: (signal: AbortSignal) => Promise<HttpAnswer>,
  o: DeliveryOptions,
): Promise<DeliveryResult> {
  const start = o.clock.monotonicMs();
  let last = false;
  for (let n = 0; ; n++) {
    if (o.signal.aborted) return 'expired';
    let wait = backoffDelay(n, o.backoff, o.random);
    const t0 = o.clock.monotonicMs();
    try {
      const a = await attempt(o.signal).finally(() => o.onAttempt?.((o.clock.monotonicMs() - t0) / 1000));
      if (a.status >= 200 && a.status < 300) return 'delivered';
      o.onFailure?.(`HTTP ${a.status}: ${a.body.trim().slice(0, 200)}`, a.status);
      if (!retryableStatus(a.status)) return 'rejected';
      // The server says when to come back: not sooner.
      if (a.retryAfterMs !== undefined) wait = Math.max(wait, a.retryAfterMs);
    } catch (err) {
      o.onFailure?.(errorMessage(err), undefined);
    }
    if (o.clock.monotonicMs() - start + wait > o.maxElapsedMs) return 'expired';
    if (last || (o.maxAttempts !== undefined && n + 1 >= o.maxAttempts)) return 'expired';
    const woke = await sleep(o.clock, wait, o.signal, o.hurry);
    if (woke === 'signal') return 'expired';
    if (woke === 'hurry') last = true;
  }
}

/** Waits `ms` on `clock`; ends early when `signal` or `hurry` aborts. */
function sleep(
  clock: Clock,
  ms: number,
  signal: AbortSignal,
  hurry: AbortSignal | undefined,
): Promise<'time' | 'signal' | 'hurry'> {
  if (signal.aborted) return Promise.resolve('signal');
  if (hurry?.aborted === true) return Promise.resolve('hurry');
  return new Promise((resolve) => {
    const done = (why: 'time' | 'signal' | 'hurry'): void => {
      cancel();
      signal.removeEventListener('abort', onSignal);
      hurry?.removeEventListener('abort', onHurry);
      resolve(why);
    };
    const onSignal = (): void => done('signal');
    const onHurry = (): void => done('hurry');
    const cancel = clock.after(ms, () => done('time'));
    signal.addEventListener('abort', onSignal, { once: true });
    hurry?.addEventListener('abort', onHurry, { once: true });
  });
}

/** What an {@link HttpPoster} takes from a backend's deps. */
export interface PosterDeps {
  /** The backend instance's name (for its errors). */
  name: string;
  metrics: BackendMetrics;
  logger: Logger;
  clock: Clock;
  /** Jitter source (tests fix it); Math.random by default. */
  random?: () => number;
}

/** Settings of an {@link HttpPoster}: its client's, plus the retry budget. */
export interface HttpPosterOptions extends HttpClientOptions {
  /** No attempt starts later than this after the first (`max-request-elapsed-time`). */
  maxElapsedMs: number;
  /** What an attempt is, for the log line (`forwarding`, `remote write`, `datadog`). */
  what: string;
  /** At most this many attempts per request (a retry count + 1); bounded only by `maxElapsedMs` when absent. */
  maxAttempts?: number;
}

/**
 * How a backend reads a 2xx answer that may refuse part of what it carried (OTLP's
 * partial success): `answerBytes` of the body are read, and `rejected` returns how many
 * of the request's items the receiver refused, with its message. Such a request is not
 * retried; the refused items are counted as dropped (`rejected`), the rest as sent.
 */
export interface PartialAnswer {
  answerBytes: number;
  rejected(answer: HttpAnswer): { items: number; message: string } | undefined;
}

/**
 * HttpPoster is the one way a backend posts to an HTTP API: an {@link HttpClient} and
 * {@link deliver} with gostatsd's back-off, counting each failed attempt by code
 * (`ENETWORK`, `HTTP_<status>`) and each attempt's duration, logging failures once a
 * minute per status, and counting what each request carried as sent or dropped.
 */
export class HttpPoster {
  readonly #client: HttpClient;
  readonly #o: HttpPosterOptions;
  readonly #deps: PosterDeps;
  readonly #random: () => number;
  /** Failures are logged once a minute per status (also for the backend's own warnings). */
  readonly failures: RateLimitedLog;

  constructor(opts: HttpPosterOptions, deps: PosterDeps) {
    this.#o = opts;
    this.#deps = deps;
    this.#client = new HttpClient({ ...opts, clock: opts.clock ?? deps.clock });
    this.#random = deps.random ?? Math.random;
    this.failures = new RateLimitedLog(60_000, () => deps.clock.now());
  }

  /** The longest one delivery can take: the retry budget plus one attempt. */
  get deliveryTimeoutMs(): number {
    return this.#o.maxElapsedMs + this.#o.timeoutMs;
  }

  /** The URL of `path` under the endpoint. */
  url(path: string): string {
    return this.#client.url(path);
  }

  /**
   * POSTs `body` to `path` until delivered, refused, the retry budget is spent or `signal`
   * aborts; counts `items` as sent or dropped. `headers` is called for each attempt (a
   * rotated credential applies at once). Once `hurry` aborts (shutdown), a wait to retry
   * ends and the next attempt is the last.
   */
  post(
    path: string,
    body: Uint8Array,
    headers: () => Record<string, string>,
    items: number,
    signal: AbortSignal,
    hurry?: AbortSignal,
    partial?: PartialAnswer,
  ): Promise<DeliveryResult> {
    const { metrics, logger, clock } = this.#deps;
    let lastAnswer: HttpAnswer | undefined;
    return deliver(
      async (s) => (lastAnswer = await this.#client.post(path, body, headers(), s, partial?.answerBytes ?? 0)),
      {
        backoff: GOSTATSD_BACKOFF,
        maxElapsedMs: this.#o.maxElapsedMs,
        ...(this.#o.maxAttempts === undefined ? {} : { maxAttempts: this.#o.maxAttempts }),
        clock,
        random: this.#random,
        signal,
        hurry,
        onAttempt: (seconds) => metrics.requestDuration?.(seconds),
        onFailure: (reason, status) => {
          metrics.sendError(status === undefined ? 'ENETWORK' : `HTTP_${status}`);
          this.failures.maybe(`${status ?? 'network'}`, (suppressed) =>
            logger.warn({ url: this.#client.url(path), reason, suppressed }, `${this.#o.what} attempt failed`),
          );
        },
      },
    ).then((result) => {
      const refused = result === 'delivered' && lastAnswer !== undefined ? partial?.rejected(lastAnswer) : undefined;
      if (refused !== undefined && refused.items > 0) {
        const n = Math.min(refused.items, items);
        metrics.sent(1, items - n);
        metrics.dropped('rejected', n);
        this.failures.maybe('partial', (suppressed) =>
          logger.warn(
            {
              url: this.#client.url(path),
              rejected: n,
              reason: redact(refused.message.slice(0, 200), secretsOf(headers())),
              suppressed,
            },
            `${this.#o.what}: the receiver refused part of a request`,
          ),
        );
      } else countDelivery(metrics, result, items);
      return result;
    });
  }

  /**
   * Posts every part, at most `concurrency` at once (each rendered just before it is
   * sent). Resolves when all are delivered; once every part has been tried, rejects with a
   * BackendError if any was dropped (already counted), so the flusher reports the
   * delivery as failed.
   */
  async postAll<P>(
    parts: readonly P[],
    concurrency: number,
    send: (part: P) => Promise<DeliveryResult>,
  ): Promise<void> {
    let next = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
      while (next < parts.length) if ((await send(parts[next++]!)) !== 'delivered') failed++;
    };
    await Promise.all(Array.from({ length: Math.min(Math.max(concurrency, 1), parts.length) }, worker));
    if (failed > 0)
      throw new BackendError(this.#deps.name, `${this.#o.what}: ${failed} of ${parts.length} requests not delivered`);
  }

  /** Ends every connection now, failing requests in flight. */
  destroy(): Promise<void> {
    return this.#client.destroy();
  }
}

/** The `network` settings of HTTP backends (gostatsd's): either family, IPv4 only, IPv6 only. */
export const NETWORKS = ['tcp', 'tcp4', 'tcp6'] as const;
export type Network = (typeof NETWORKS)[number];

/** The address family of a gostatsd `network` setting. */
export function familyOf(network: Network): 0 | 4 | 6 {
  return network === 'tcp4' ? 4 : network === 'tcp6' ? 6 : 0;
}

/** `items` in consecutive batches of at most `size`. */
export function inBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `bytes` as a zlib stream (the `deflate` content-encoding), off the event loop. */
export function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  return compressed(bytes, 'deflate');
}

/** `bytes` as gzip (the `gzip` content-encoding), off the event loop. */
export function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return compressed(bytes, 'gzip');
}

function compressed(bytes: Uint8Array, how: 'deflate' | 'gzip'): Promise<Uint8Array> {
  const zlib = require('node:zlib') as typeof Zlib;
  return new Promise((resolve, reject) => zlib[how](bytes, (err, out) => (err === null ? resolve(out) : reject(err))));
}
