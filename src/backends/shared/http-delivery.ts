import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import { systemClock, type Clock } from '../../shared/clock.js';
import { errorMessage } from '../../shared/errors.js';
import { RateLimitedLog, type Logger } from '../../shared/logger.js';
import type { BackendMetrics } from '../backend.js';
import { redact, secretsOf } from './redact.js';

const require = createRequire(import.meta.url);

/** How much of an answer's body is kept (for logs). */
const ANSWER_CHARS = 512;

/** Settings of {@link HttpClient}. */
export interface HttpClientOptions {
  /** Base URL: scheme, host, port, an optional path prefix and query (`https://agg:8080`, `http://h/api/v1/write`). */
  endpoint: string;
  /** Longest time one attempt may take, connect to last body byte, in ms. */
  timeoutMs: number;
  /** Most connections (HTTP/1.1) or streams (HTTP/2) at once. */
  maxConnections: number;
  /** Offer HTTP/2 over TLS (ALPN); plain http stays HTTP/1.1. */
  http2: boolean;
  /** PEM file with the CA certificates to trust instead of the system's; '' for the system's. */
  caFile: string;
  /** Address family to connect with: 4, 6, or 0 for either. */
  family: 0 | 4 | 6;
  /** `User-Agent` of every request. */
  userAgent: string;
  /** Time (for `Retry-After` dates; default: the system clock). */
  clock?: Clock;
}

/** The answer to one attempt: its status and the start of its body (for logs). */
export interface HttpAnswer {
  status: number;
  body: string;
  /** The answer's `Retry-After`, in ms, when it has one. */
  retryAfterMs?: number;
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
      const undici = require('undici') as typeof Undici;
      const o = this.#opts;
      this.#pool = new undici.Pool(this.#base.origin, {
        connections: o.maxConnections,
        allowH2: o.http2,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        connect: {
          timeout: o.timeoutMs,
          minVersion: 'TLSv1.2',
          ...(o.caFile === '' ? {} : { ca: readFileSync(o.caFile) }),
          ...(o.family === 0 ? {} : { family: o.family }),
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
   * network error, a timeout or when `signal` aborts.
   */
  async post(
    path: string,
    body: Uint8Array,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<HttpAnswer> {
    const res = await this.#dispatcher().request({
      method: 'POST',
      path: this.#base.pathname.replace(/\/+$/, '') + path + this.#base.search,
      headers: { 'user-agent': this.#opts.userAgent, ...headers },
      body,
      signal,
    });
    // The start of the body is kept for logs; past it the body is not read (the
    // connection is dropped), so a misbehaving endpoint cannot make us buffer much.
    let text = '';
    for await (const chunk of res.body) {
      text += Buffer.from(chunk as Uint8Array).toString('utf8');
      if (text.length >= ANSWER_CHARS) {
        res.body.destroy();
        break;
      }
    }
    // The request's own credentials never reach a log, even from a peer that echoes them.
    const answer: HttpAnswer = {
      status: res.statusCode,
      body: redact(text.slice(0, ANSWER_CHARS), secretsOf(headers)),
    };
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
  /** Every attempt failed and the elapsed-time budget is spent. */
  | 'expired'
  /** `stop` aborted while waiting to try again: the caller still holds the data. */
  | 'stopped';

/** Settings of {@link deliver}. */
export interface DeliveryOptions {
  backoff: Backoff;
  /** No attempt starts later than this after the first (gostatsd's `max-request-elapsed-time`). */
  maxElapsedMs: number;
  clock: Clock;
  random: () => number;
  /**
   * Aborting it ends the delivery at its next wait (`stopped`); an attempt on the wire
   * runs on, bounded by `signal`.
   */
  stop: AbortSignal;
  /** Aborting it fails the attempt on the wire and ends the delivery (`expired`). */
  signal: AbortSignal;
  /** Called after each failed attempt (for counting and rate-limited logs). */
  onFailure?: (reason: string, status: number | undefined) => void;
  /** Called with each attempt's duration in seconds. */
  onAttempt?: (seconds: number) => void;
}

/**
 * Runs `attempt` until it succeeds, is refused, or the elapsed-time budget is spent,
 * waiting with back-off and jitter in between.
 */
export async function deliver(
  attempt: (signal: AbortSignal) => Promise<HttpAnswer>,
  o: DeliveryOptions,
): Promise<DeliveryResult> {
  const start = o.clock.monotonicMs();
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
    const woke = await sleep(o.clock, wait, o.stop, o.signal);
    if (woke === 'stop') return 'stopped';
    if (woke === 'signal') return 'expired';
  }
}

/** Waits `ms` on `clock`; ends early when either signal aborts. */
function sleep(clock: Clock, ms: number, stop: AbortSignal, signal: AbortSignal): Promise<'time' | 'stop' | 'signal'> {
  if (stop.aborted) return Promise.resolve('stop');
  if (signal.aborted) return Promise.resolve('signal');
  return new Promise((resolve) => {
    const done = (why: 'time' | 'stop' | 'signal'): void => {
      cancel();
      stop.removeEventListener('abort', onStop);
      signal.removeEventListener('abort', onSignal);
      resolve(why);
    };
    const onStop = (): void => done('stop');
    const onSignal = (): void => done('signal');
    const cancel = clock.after(ms, () => done('time'));
    stop.addEventListener('abort', onStop, { once: true });
    signal.addEventListener('abort', onSignal, { once: true });
  });
}

/** A backend's side of {@link postCounted}: where to post, and where to count and log. */
export interface Poster {
  client: HttpClient;
  metrics: BackendMetrics;
  logger: Logger;
  /** Failures are logged once a minute per status. */
  failures: RateLimitedLog;
  clock: Clock;
  random: () => number;
  maxElapsedMs: number;
  /** What an attempt is, for the log line (`forwarding`, `remote write`). */
  what: string;
}

/** What {@link posterFor} takes from a backend's deps. */
export interface PosterDeps {
  metrics: BackendMetrics;
  logger: Logger;
  clock: Clock;
  /** Jitter source (tests fix it); Math.random by default. */
  random?: () => number;
}

/** A {@link Poster} for `client`, counting and logging into `deps` (failures logged once a minute). */
export function posterFor(client: HttpClient, deps: PosterDeps, maxElapsedMs: number, what: string): Poster {
  return {
    client,
    metrics: deps.metrics,
    logger: deps.logger,
    failures: new RateLimitedLog(60_000, () => deps.clock.now()),
    clock: deps.clock,
    random: deps.random ?? Math.random,
    maxElapsedMs,
    what,
  };
}

/** The address family of a gostatsd `network` setting. */
export function familyOf(network: 'tcp' | 'tcp4' | 'tcp6'): 0 | 4 | 6 {
  return network === 'tcp4' ? 4 : network === 'tcp6' ? 6 : 0;
}

/**
 * POSTs `body` to `path` with gostatsd's back-off until delivered, refused or the
 * elapsed-time budget is spent ({@link deliver}), counting each failed attempt by code
 * (`ENETWORK`, `HTTP_<status>`), each attempt's duration, and logging failures once a
 * minute per status.
 */
export function postCounted(
  p: Poster,
  path: string,
  body: Uint8Array,
  headers: () => Record<string, string>,
  stop: AbortSignal,
  signal: AbortSignal,
): Promise<DeliveryResult> {
  return deliver((s) => p.client.post(path, body, headers(), s), {
    backoff: GOSTATSD_BACKOFF,
    maxElapsedMs: p.maxElapsedMs,
    clock: p.clock,
    random: p.random,
    stop,
    signal,
    onAttempt: (seconds) => p.metrics.requestDuration?.(seconds),
    onFailure: (reason, status) => {
      p.metrics.sendError(status === undefined ? 'ENETWORK' : `HTTP_${status}`);
      p.failures.maybe(`${status ?? 'network'}`, (suppressed) =>
        p.logger.warn({ url: p.client.url(path), reason, suppressed }, `${p.what} attempt failed`),
      );
    },
  });
}
