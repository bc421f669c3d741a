import type { Aggregator } from '../aggregator/aggregator.js';
import type { FlushSnapshot } from '../aggregator/snapshot.js';
import { computeSnapshot, runChunked } from '../aggregator/interval-cut.js';
import type { Backend } from '../backends/backend.js';
import type { Lifecycle } from '../daemon/lifecycle.js';
import type { Clock } from '../shared/clock.js';
import { errorCode, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { SelfMetrics } from '../telemetry/self-metrics.js';

/** Settings of {@link Flusher}. */
export interface FlusherConfig {
  /** Time between flushes (`flush-interval`). */
  flushIntervalMs: number;
}

/** Dependencies of {@link Flusher}. */
export interface FlusherDeps {
  aggregator: Aggregator;
  /** The backends to flush to; read at every flush, so a reload can swap the list. */
  backends: () => readonly Backend[];
  clock: Clock;
  logger: Logger;
  metrics?: SelfMetrics;
}

/** Outcome of one backend's part of a flush. */
export type BackendFlushResult = 'success' | 'failure' | 'timeout';

/**
 * Flusher takes one consolidated snapshot per interval and hands it to every backend
 * concurrently, each under its own deadline (the flush interval), so one slow or failing
 * backend never delays or fails the others.
 *
 * It never runs two flushes at once: a tick that finds the previous flush still running
 * is skipped, and its data goes out with the next flush (whose `per_second` uses the
 * longer measured interval), so nothing is lost or doubled.
 */
export class Flusher implements Lifecycle {
  readonly #deps: FlusherDeps;
  #intervalMs: number;
  #stopTimer: (() => void) | undefined;
  #lastFlushMono: number;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(config: FlusherConfig, deps: FlusherDeps) {
    this.#deps = deps;
    this.#intervalMs = config.flushIntervalMs;
    this.#lastFlushMono = deps.clock.monotonicMs();
  }

  async start(): Promise<void> {
    if (this.#stopped || this.#stopTimer !== undefined) return;
    this.#lastFlushMono = this.#deps.clock.monotonicMs();
    this.#startTimer();
  }

  #startTimer(): void {
    this.#stopTimer = this.#deps.clock.every(this.#intervalMs, () => {
      if (this.#inFlight !== undefined) {
        this.#deps.logger.warn({ intervalMs: this.#intervalMs }, 'previous flush still running; skipping this tick');
        return;
      }
      void this.flushNow();
    });
  }

  /**
   * Runs one flush now: snapshot, reset, fan out. Resolves when every backend finished
   * or hit its deadline. Never rejects. Concurrent calls share the running flush.
   */
  flushNow(deadline?: AbortSignal): Promise<void> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    const run = this.#flush(deadline).finally(() => {
      this.#inFlight = undefined;
    });
    this.#inFlight = run;
    return run;
  }

  /**
   * Changes the flush interval (a config reload): the timer restarts with the new period
   * from now. Data already aggregated goes out with the next flush, whose per-second
   * rates use the measured interval.
   */
  setInterval(ms: number): void {
    if (ms === this.#intervalMs) return;
    this.#intervalMs = ms;
    if (this.#stopTimer !== undefined) {
      this.#stopTimer();
      this.#startTimer();
    }
  }

  /** Resolves once no flush is running (immediately when idle). Never rejects. */
  async idle(): Promise<void> {
    while (this.#inFlight !== undefined) await this.#inFlight;
  }

  /** Stops the timer, waits for a running flush, then runs the final flush. */
  async shutdown(signal?: AbortSignal): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopTimer?.();
    this.#stopTimer = undefined;
    if (this.#inFlight !== undefined) await this.#inFlight;
    await this.flushNow(signal);
  }

  async #flush(deadline: AbortSignal | undefined): Promise<void> {
    const { clock, aggregator, logger, metrics } = this.#deps;
    const startMono = clock.monotonicMs();
    const intervalSeconds = Math.max((startMono - this.#lastFlushMono) / 1000, 1e-3);
    this.#lastFlushMono = startMono;
    let snapshot: FlushSnapshot;
    let backends: readonly Backend[];
    try {
      // The cut is synchronous and cheap; the statistics are computed in slices so that
      // receiving is never held up for long, even with 100,000 series.
      // The backends are fixed at the cut: an interval's data goes to the set that was
      // configured when it was cut, even if a reload swaps the set meanwhile.
      backends = this.#deps.backends();
      const cut = aggregator.cut(clock.now());
      snapshot = await runChunked(computeSnapshot(cut, intervalSeconds, aggregator.statsConfig));
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'aggregation failed; this interval is lost');
      return;
    }
    const timeout = AbortSignal.timeout(this.#intervalMs);
    const signal = deadline === undefined ? timeout : AbortSignal.any([timeout, deadline]);
    await Promise.all(backends.map((b) => this.#flushOne(b, snapshot, signal)));
    metrics?.flushes.inc();
    metrics?.flushDuration.observe((clock.monotonicMs() - startMono) / 1000);
  }

  async #flushOne(b: Backend, snapshot: FlushSnapshot, signal: AbortSignal): Promise<void> {
    let result: BackendFlushResult = 'success';
    try {
      await raceAbort(b.flush(snapshot, signal), signal);
    } catch (err) {
      result = signal.aborted ? 'timeout' : 'failure';
      this.#deps.logger.debug(
        { backend: b.name, code: errorCode(err), err: errorMessage(err) },
        'backend flush failed',
      );
    }
    this.#deps.metrics?.backendFlushes.inc({ backend: b.name, result });
  }
}

/** Settles with `p`, or rejects as soon as `signal` aborts (a hanging backend cannot hold us). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
