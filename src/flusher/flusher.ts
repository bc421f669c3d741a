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

/** Outcome of one backend's part of a flush; `skipped`: replaced by a newer snapshot while waiting. */
export type BackendFlushResult = 'success' | 'failure' | 'timeout' | 'skipped';

/** One backend's delivery lane: at most one snapshot in delivery and one waiting. */
interface Lane {
  running: boolean;
  /** When a skipped interval was last logged (at most once a minute per backend). */
  warnedAt: number;
  waiting: { snapshot: FlushSnapshot; deadline: AbortSignal | undefined; done: () => void } | undefined;
}

/**
 * Flusher takes one consolidated snapshot per interval and hands it to every backend,
 * each in its own lane under its own deadline (the flush interval), so one slow, hanging
 * or failing backend never delays or fails the others: they get every interval on time.
 *
 * A backend still busy when the next snapshot is ready gets that snapshot as soon as it is
 * free; if yet another arrives first, the waiting one is replaced and counted as
 * `skipped` for that backend (a backend slower than the interval receives the newest
 * data instead of an ever-growing queue).
 *
 * Computing a snapshot never overlaps another computation: a tick that finds one running
 * (only possible with very many series and a very short interval) is skipped, and its data
 * goes out with the next flush, whose `per_second` uses the longer measured interval.
 */
export class Flusher implements Lifecycle {
  readonly #deps: FlusherDeps;
  #intervalMs: number;
  #stopTimer: (() => void) | undefined;
  #lastFlushMono: number;
  #computing: Promise<FlushSnapshot | undefined> | undefined;
  readonly #flushes = new Set<Promise<void>>();
  readonly #lanes = new WeakMap<Backend, Lane>();
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
      if (this.#computing !== undefined) {
        this.#deps.logger.warn(
          { intervalMs: this.#intervalMs },
          'previous snapshot still being computed; skipping this tick',
        );
        return;
      }
      void this.flushNow();
    });
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

  /** Resolves once every flush started so far has been delivered (or given up). Never rejects. */
  async idle(): Promise<void> {
    while (this.#flushes.size > 0) await Promise.all([...this.#flushes]);
  }

  /**
   * Runs one flush now: cut, snapshot, hand to every backend. Resolves when every backend
   * has finished with this snapshot (delivered, failed, timed out or skipped). Never rejects.
   */
  flushNow(deadline?: AbortSignal): Promise<void> {
    const run = this.#flush(deadline);
    this.#flushes.add(run);
    void run.finally(() => this.#flushes.delete(run));
    return run;
  }

  /**
   * Stops the timer and runs the final flush at once, bounded by `signal`: a backend that
   * is still busy gets the final snapshot after its current delivery, the others
   * immediately. Resolves when every flush has been delivered or given up.
   */
  async shutdown(signal?: AbortSignal): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopTimer?.();
    this.#stopTimer = undefined;
    void this.flushNow(signal);
    if (signal === undefined) await this.idle();
    else await raceAbort(this.idle(), signal).catch(() => undefined);
  }

  async #flush(deadline: AbortSignal | undefined): Promise<void> {
    const { clock, metrics } = this.#deps;
    while (this.#computing !== undefined) await this.#computing;
    const startMono = clock.monotonicMs();
    // The backends are fixed at the cut: an interval's data goes to the set that was
    // configured when it was cut, even if a reload swaps the set meanwhile.
    const backends = this.#deps.backends();
    const computing = this.#compute(startMono, backends);
    this.#computing = computing;
    const snapshot = await computing.finally(() => {
      this.#computing = undefined;
    });
    if (snapshot === undefined) return;
    await Promise.all(backends.map((b) => this.#dispatch(b, snapshot, deadline)));
    metrics?.flushes.inc();
    metrics?.flushDuration.observe((clock.monotonicMs() - startMono) / 1000);
  }

  async #compute(startMono: number, backends: readonly Backend[]): Promise<FlushSnapshot | undefined> {
    const { clock, aggregator, logger } = this.#deps;
    const intervalSeconds = Math.max((startMono - this.#lastFlushMono) / 1000, 1e-3);
    this.#lastFlushMono = startMono;
    // A backend still holding an earlier snapshot keeps it intact: build this one from new
    // arrays and objects. Otherwise the previous cut's arrays and entries are refreshed.
    const fresh = backends.some((b) => {
      const lane = this.#lanes.get(b);
      return lane !== undefined && (lane.running || lane.waiting !== undefined);
    });
    try {
      // The cut is synchronous and cheap; the statistics are computed in slices so that
      // receiving is never held up for long, even with 100,000 series.
      const cut = aggregator.cut(clock.now(), fresh);
      return await runChunked(computeSnapshot(cut, intervalSeconds, aggregator.statsConfig));
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'aggregation failed; this interval is lost');
      return undefined;
    }
  }

  /** Hands `snapshot` to `b`'s lane; resolves when the lane is done with it. */
  #dispatch(b: Backend, snapshot: FlushSnapshot, deadline: AbortSignal | undefined): Promise<void> {
    let lane = this.#lanes.get(b);
    if (lane === undefined) {
      lane = { running: false, warnedAt: -Infinity, waiting: undefined };
      this.#lanes.set(b, lane);
    }
    const l = lane;
    return new Promise<void>((done) => {
      if (!l.running) {
        void this.#run(b, l, snapshot, deadline, done);
        return;
      }
      if (l.waiting !== undefined) {
        this.#deps.metrics?.backendFlushes.inc({ backend: b.name, result: 'skipped' });
        const now = this.#deps.clock.monotonicMs();
        if (now - l.warnedAt >= 60_000) {
          l.warnedAt = now;
          this.#deps.logger.warn(
            { backend: b.name },
            'backend slower than the flush interval: intervals are skipped for it (backend_flushes_total{result="skipped"})',
          );
        }
        l.waiting.done();
      }
      l.waiting = { snapshot, deadline, done };
    });
  }

  async #run(
    b: Backend,
    lane: Lane,
    snapshot: FlushSnapshot,
    deadline: AbortSignal | undefined,
    done: () => void,
  ): Promise<void> {
    lane.running = true;
    try {
      await this.#flushOne(b, snapshot, deadline);
    } finally {
      lane.running = false;
      done();
      const next = lane.waiting;
      lane.waiting = undefined;
      if (next !== undefined) void this.#run(b, lane, next.snapshot, next.deadline, next.done);
    }
  }

  async #flushOne(b: Backend, snapshot: FlushSnapshot, deadline: AbortSignal | undefined): Promise<void> {
    // Each delivery gets the flush interval, counted from when it starts.
    const timeout = AbortSignal.timeout(this.#intervalMs);
    const signal = deadline === undefined ? timeout : AbortSignal.any([timeout, deadline]);
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
