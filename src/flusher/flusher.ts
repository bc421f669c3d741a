import type { Aggregator } from '../aggregator/aggregator.js';
import { computeSnapshot } from '../aggregator/interval-cut.js';
import { mergeSnapshotsChunked } from '../aggregator/merge.js';
import type { FlushSnapshot } from '../aggregator/snapshot.js';
import type { Backend } from '../backends/backend.js';
import { abortWhen, raceAbort } from '../shared/abort.js';
import type { Clock } from '../shared/clock.js';
import { runChunked } from '../shared/cooperative.js';
import { asError, DaemonError, errorCode, errorMessage } from '../shared/errors.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';

/** How long after its deadline a backend may take to settle before it counts as overdue. */
const OVERDUE_GRACE_MS = 1000;

/**
 * Ticks in a row that may take no cut while every backend is busy. Past that a tick cuts
 * anyway (the busy policy then applies), so a backend that never settles cannot make the
 * aggregator hold timer values and set members for ever.
 */
const MAX_DEFERRED_TICKS = 10;

/** Settings of {@link Flusher}. */
export interface FlusherConfig {
  /** Time between flushes (`flush-interval`); also each delivery's deadline. */
  flushIntervalMs: number;
}

/**
 * Outcome of one backend's part of a flush. `skipped`: replaced by a newer interval while
 * waiting (busy policy `latest`); `merged`: merged into the next interval while waiting
 * (busy policy `coalesce`).
 */
export type BackendFlushResult = 'success' | 'failure' | 'timeout' | 'skipped' | 'merged' | 'abandoned';

export { seriesOf } from '../aggregator/snapshot.js';

/** What the flusher reports; the daemon's self-metrics implement it. */
export interface FlusherMetrics {
  /** A flush finished (every backend done with it) `seconds` after its tick. */
  flushed(seconds: number): void;
  backendResult(backend: string, result: BackendFlushResult): void;
  /** How long one delivery took, from its start until the backend settled (or its deadline). */
  backendDuration(backend: string, seconds: number): void;
  /** Deliveries past their deadline whose backend has not settled yet (+1 / -1). */
  overdue(backend: string, delta: number): void;
  /** Snapshots still held by at least one backend. */
  snapshotsHeld(n: number): void;
  /** A snapshot was built from new arrays because an earlier one was still held. */
  freshSnapshot(): void;
  /** A tick took no cut: every backend was still busy with an earlier interval. */
  tickDeferred(): void;
  /**
   * An interval never reached `backend`: `skipped` (replaced by a newer one, busy policy
   * `latest`) or `shutdown` (still waiting when the shutdown deadline passed).
   */
  intervalDropped(backend: string, reason: 'skipped' | 'shutdown', snapshot: FlushSnapshot): void;
}

/** Dependencies of {@link Flusher}. */
export interface FlusherDeps {
  aggregator: Aggregator;
  /** The backends to flush to; read at every cut, so a reload can swap the list. */
  backends: () => readonly Backend[];
  clock: Clock;
  logger: Logger;
  metrics?: FlusherMetrics;
  /**
   * Brings samples held elsewhere (the ingest workers' intervals) into the aggregator
   * before each cut; bounded by `signal` (the flush interval): what comes later goes out
   * with the next flush.
   */
  gather?: (signal: AbortSignal) => Promise<void>;
  /** Runs after each flush, once every backend is done with it (the daemon trims memory). */
  afterFlush?: () => void;
}

/**
 * A snapshot and the number of lanes that still hold it. The aggregator refreshes its
 * arrays and entries in place at the next cut only when no snapshot is held at all.
 */
interface Held {
  readonly snapshot: FlushSnapshot;
  holders: number;
  /** Whether the snapshot is built from the aggregator's reusable arrays (merged ones are not). */
  readonly pooled: boolean;
}

/** One interval on its way to one backend; `done` resolves that backend's part of the flush. */
interface Delivery {
  held: Held;
  done: () => void;
  /** Set while an older waiting interval is being merged into this one. */
  ready?: Promise<void>;
}

/**
 * One backend's delivery lane: at most one delivery that has not settled, and one
 * waiting. The lane stays busy until the backend's `flush` promise settles, even past
 * its deadline: a backend never runs two flushes at once and never reads a snapshot
 * after it has been reused.
 */
interface Lane {
  busy: boolean;
  waiting: Delivery | undefined;
  /** When a skipped or merged interval was last logged (at most once a minute per backend). */
  warnedBusyAt: number;
  /** Whether "did not settle after its deadline" was logged for this backend. */
  warnedOverdue: boolean;
}

/**
 * Flusher takes one consolidated snapshot per interval and hands it to every backend,
 * each in its own lane under its own deadline (the flush interval), so one slow, hanging
 * or failing backend never delays or fails the others: they get every interval on time.
 *
 * A backend still busy when the next snapshot is ready gets it as soon as it is free; if
 * yet another arrives first, its busy policy decides: `latest` replaces the waiting one
 * (counted `skipped`), `coalesce` merges them (counted `merged`).
 *
 * Ownership: a snapshot is held until every backend it was handed to has settled its
 * `flush` (not merely until the deadline). Only when no snapshot is held does the next
 * cut refresh the previous arrays and entries in place; otherwise it is built from new
 * ones. A backend that never settles holds at most its one delivery and one waiting
 * interval, is counted (`backend_overdue_flushes`) and logged once.
 *
 * Computing a snapshot never overlaps another computation: a tick that finds one running
 * (only possible with very many series and a very short interval) is skipped, and its data
 * goes out with the next flush, whose `per_second` uses the longer measured interval. So
 * is a tick that finds every backend still busy (up to {@link MAX_DEFERRED_TICKS} in a
 * row): with backends slower than the interval, intervals grow longer instead of being
 * skipped, and only one snapshot is built at a time.
 */
export class Flusher implements Lifecycle {
  readonly #deps: FlusherDeps;
  #intervalMs: number;
  /** When the timer fires next (monotonic ms). */
  #nextTickMono = 0;
  #stopTimer: (() => void) | undefined;
  #lastFlushMono: number;
  #computing: Promise<FlushSnapshot | undefined> | undefined;
  readonly #flushes = new Set<Promise<void>>();
  readonly #lanes = new WeakMap<Backend, Lane>();
  /** Pooled snapshots some backend still holds. */
  #held = 0;
  #stopped = false;
  /** When a deferred tick was last logged (at most once a minute). */
  #warnedDeferredAt = -Infinity;
  /** Ticks in a row that took no cut. */
  #deferredTicks = 0;
  /** Aborted when the shutdown deadline passes: deliveries end, waiting intervals are dropped. */
  readonly #drain = new AbortController();
  /** Aborted when shutdown starts: backends waiting to retry try once more at once. */
  readonly #hurry = new AbortController();

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

  /** A periodic timer at the current interval, its first tick one interval from now. */
  #startTimer(): void {
    this.#nextTickMono = this.#deps.clock.monotonicMs() + this.#intervalMs;
    this.#stopTimer = this.#deps.clock.every(this.#intervalMs, () => this.#tick());
  }

  #tick(): void {
    this.#nextTickMono = this.#deps.clock.monotonicMs() + this.#intervalMs;
    if (this.#computing !== undefined) {
      this.#deps.logger.warn(
        { intervalMs: this.#intervalMs },
        'previous snapshot still being computed; skipping this tick',
      );
      return;
    }
    if (this.#deferredTicks < MAX_DEFERRED_TICKS && this.#everyLaneBusy()) {
      this.#deferredTicks++;
      this.#deferTick();
      return;
    }
    this.#deferredTicks = 0;
    void this.flushNow();
  }

  /**
   * Whether every backend is still busy with an earlier interval: a cut now could only
   * wait behind it, and later be replaced or merged. The tick is left out instead and the
   * data stays in the aggregator, to go out with the first cut after a backend is free,
   * over the longer measured interval (as the reference's ticker does when a flush
   * overruns); only one snapshot is built meanwhile.
   */
  #everyLaneBusy(): boolean {
    const backends = this.#deps.backends();
    return backends.length > 0 && backends.every((b) => this.#lanes.get(b)?.busy === true);
  }

  #deferTick(): void {
    const { clock, logger, metrics } = this.#deps;
    metrics?.tickDeferred();
    const now = clock.monotonicMs();
    if (now - this.#warnedDeferredAt < 60_000) return;
    this.#warnedDeferredAt = now;
    logger.warn(
      { intervalMs: this.#intervalMs },
      'every backend is still busy with an earlier interval: this tick takes no cut, its data goes out with the next one (flush_ticks_deferred_total)',
    );
  }

  /**
   * Changes the flush interval (a config reload) keeping the schedule: the next tick comes
   * at the earlier of its old time and the last tick plus the new interval (at once if that
   * has passed), then every new interval. So reloads, however frequent, never hold a
   * flush back. Per-second rates use the measured interval.
   */
  setInterval(ms: number): void {
    if (ms === this.#intervalMs) return;
    const lastTick = this.#nextTickMono - this.#intervalMs;
    this.#intervalMs = ms;
    if (this.#stopTimer === undefined) return;
    this.#stopTimer();
    const { clock } = this.#deps;
    const now = clock.monotonicMs();
    this.#nextTickMono = Math.max(now, Math.min(this.#nextTickMono, lastTick + ms));
    this.#stopTimer = clock.after(this.#nextTickMono - now, () => {
      this.#startTimer();
      this.#tick();
    });
  }

  /** Resolves once every flush started so far has been delivered (or given up). Never rejects. */
  async idle(): Promise<void> {
    while (this.#flushes.size > 0) await Promise.all([...this.#flushes]);
  }

  /** Snapshots that some backend has not settled yet (tests, diagnostics). */
  get heldSnapshots(): number {
    return this.#held;
  }

  /**
   * Runs one flush now: cut, snapshot, hand to every backend. Resolves when every backend
   * is done with this snapshot (delivered, failed, timed out, skipped or merged). Never
   * rejects.
   */
  flushNow(): Promise<void> {
    const run = this.#flush();
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
    this.#hurry.abort();
    const unfollow = abortWhen(signal, this.#drain);
    try {
      void this.flushNow();
      if (signal === undefined) await this.idle();
      else await raceAbort(this.idle(), signal).catch(() => undefined);
    } finally {
      unfollow();
    }
  }

  async #flush(): Promise<void> {
    const { clock, metrics } = this.#deps;
    while (this.#computing !== undefined) await this.#computing;
    const startMono = clock.monotonicMs();
    // The backends are fixed at the cut: an interval's data goes to the set that was
    // configured when it was cut, even if a reload swaps the set meanwhile.
    const backends = this.#deps.backends();
    const computing = this.#compute(startMono);
    this.#computing = computing;
    const snapshot = await computing.finally(() => {
      this.#computing = undefined;
    });
    if (snapshot === undefined) return;
    const held: Held = { snapshot, holders: 0, pooled: true };
    this.#hold(held, backends.length);
    await Promise.all(backends.map((b) => this.#dispatch(b, held)));
    metrics?.flushed((clock.monotonicMs() - startMono) / 1000);
    this.#deps.afterFlush?.();
  }

  async #compute(startMono: number): Promise<FlushSnapshot | undefined> {
    const { clock, aggregator, logger, metrics } = this.#deps;
    const intervalSeconds = Math.max((startMono - this.#lastFlushMono) / 1000, 1e-3);
    this.#lastFlushMono = startMono;
    // Never rejects: a worker that has not answered in time only delays its samples.
    await this.#deps.gather?.(clock.timeout(this.#intervalMs));
    // While any backend still holds an earlier snapshot, this one is built from new
    // arrays and entries; otherwise the previous cut's are refreshed in place.
    const fresh = this.#held > 0;
    if (fresh) metrics?.freshSnapshot();
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

  #hold(held: Held, holders: number): void {
    if (holders === 0) return;
    held.holders = holders;
    if (held.pooled) this.#deps.metrics?.snapshotsHeld(++this.#held);
  }

  #release(held: Held): void {
    if (--held.holders === 0 && held.pooled) this.#deps.metrics?.snapshotsHeld(--this.#held);
  }

  #lane(b: Backend): Lane {
    let lane = this.#lanes.get(b);
    if (lane === undefined) {
      lane = { busy: false, waiting: undefined, warnedBusyAt: -Infinity, warnedOverdue: false };
      this.#lanes.set(b, lane);
    }
    return lane;
  }

  /** Hands `held` to `b`'s lane; resolves when the lane is done with it. */
  #dispatch(b: Backend, held: Held): Promise<void> {
    const lane = this.#lane(b);
    return new Promise<void>((done) => {
      const delivery: Delivery = { held, done };
      if (!lane.busy) {
        void this.#run(b, lane, delivery);
        return;
      }
      const waiting = lane.waiting;
      lane.waiting = delivery;
      if (waiting === undefined) return;
      // A third interval while one is in delivery and one waits: apply the busy policy.
      if (b.busyPolicy === 'coalesce') {
        // Merged in slices (100,000 series take a few hundred ms); the lane delivers the
        // newer one only once its merge is done.
        delivery.ready = this.#coalesce(b, lane, waiting, delivery);
        return;
      }
      this.#settleWaiting(b, lane, waiting, 'skipped');
    });
  }

  /** Merges the waiting delivery's interval into the newer one's, which replaces it. */
  async #coalesce(b: Backend, lane: Lane, waiting: Delivery, newer: Delivery): Promise<void> {
    await waiting.ready; // an earlier merge into the waiting one
    const merged = await this.#merge(b, waiting.held, newer.held);
    if (merged !== undefined) {
      this.#hold(merged, 1);
      this.#release(newer.held);
      newer.held = merged;
    }
    this.#settleWaiting(b, lane, waiting, merged === undefined ? 'skipped' : 'merged');
  }

  /** Reports a waiting delivery replaced by a newer one and lets its snapshot go. */
  #settleWaiting(b: Backend, lane: Lane, waiting: Delivery, result: 'skipped' | 'merged' | 'abandoned'): void {
    const { metrics } = this.#deps;
    if (result === 'skipped') metrics?.intervalDropped(b.name, 'skipped', waiting.held.snapshot);
    if (result === 'abandoned') metrics?.intervalDropped(b.name, 'shutdown', waiting.held.snapshot);
    this.#release(waiting.held);
    metrics?.backendResult(b.name, result);
    if (result !== 'abandoned') this.#warnBusy(b, lane, result);
    waiting.done();
  }

  /** The waiting interval and the newer one as one (unpooled) snapshot; undefined if merging failed. */
  async #merge(b: Backend, older: Held, newer: Held): Promise<Held | undefined> {
    try {
      const snapshot = await runChunked(mergeSnapshotsChunked(older.snapshot, newer.snapshot));
      return { snapshot, holders: 0, pooled: false };
    } catch (err) {
      // Never expected; the newer interval then replaces the older, as with `latest`.
      this.#deps.logger.error({ backend: b.name, err: errorMessage(err) }, 'merging waiting intervals failed');
      return undefined;
    }
  }

  #warnBusy(b: Backend, lane: Lane, result: BackendFlushResult): void {
    const now = this.#deps.clock.monotonicMs();
    if (now - lane.warnedBusyAt < 60_000) return;
    lane.warnedBusyAt = now;
    this.#deps.logger.warn(
      { backend: b.name },
      result === 'merged'
        ? 'backend slower than the flush interval: waiting intervals are merged for it (backend_flushes_total{result="merged"})'
        : 'backend slower than the flush interval: intervals are skipped for it (backend_flushes_total{result="skipped"})',
    );
  }

  /** Delivers `d`, then whatever waits in the lane, until the lane is empty. */
  async #run(b: Backend, lane: Lane, d: Delivery): Promise<void> {
    lane.busy = true;
    for (let next: Delivery | undefined = d; next !== undefined;) {
      await next.ready;
      // Past the shutdown deadline nothing more is delivered: what waits is dropped, counted.
      if (this.#drain.signal.aborted) this.#settleWaiting(b, lane, next, 'abandoned');
      else await this.#deliver(b, lane, next);
      next = lane.waiting;
      lane.waiting = undefined;
    }
    lane.busy = false;
  }

  /**
   * One delivery: the flush under its deadline (the backend's `deliveryTimeoutMs`, by
   * default the flush interval, counted from now; the shutdown deadline at the latest).
   * Its result is reported, and the flush resolved, at the deadline at the latest; the
   * lane and the snapshot stay held until the backend's promise really settles.
   */
  async #deliver(b: Backend, lane: Lane, d: Delivery): Promise<void> {
    const { clock, logger, metrics } = this.#deps;
    const started = clock.monotonicMs();
    const timeout = clock.timeout(b.deliveryTimeoutMs ?? this.#intervalMs);
    const signal = AbortSignal.any([timeout, this.#drain.signal]);
    // What the backend's promise did, once it settles; `flushing` itself never rejects.
    let outcome: { error: unknown } | undefined;
    let flushing: Promise<void>;
    try {
      flushing = b.flush(d.held.snapshot, signal, this.#hurry.signal);
    } catch (err) {
      flushing = Promise.reject(asError(err));
    }
    flushing = flushing.then(
      () => void (outcome = { error: undefined }),
      (error: unknown) => void (outcome = { error: error ?? new DaemonError('ERR_INTERNAL', 'rejected') }),
    );
    await raceAbort(flushing, signal).catch(() => undefined);
    const result: BackendFlushResult =
      outcome === undefined ? 'timeout' : outcome.error === undefined ? 'success' : 'failure';
    if (outcome?.error !== undefined) {
      const err = outcome.error;
      logger.debug({ backend: b.name, code: errorCode(err), err: errorMessage(err) }, 'backend flush failed');
    }
    metrics?.backendResult(b.name, result);
    metrics?.backendDuration(b.name, (clock.monotonicMs() - started) / 1000);
    d.done();
    if (outcome === undefined) {
      // A backend that honours the signal settles right after it; one that is still busy
      // a while later ignores its deadline.
      await raceAbort(flushing, clock.timeout(OVERDUE_GRACE_MS)).catch(() => undefined);
    }
    if (outcome === undefined) {
      metrics?.overdue(b.name, 1);
      if (!lane.warnedOverdue) {
        lane.warnedOverdue = true;
        logger.warn(
          { backend: b.name },
          'backend did not stop at its flush deadline; it gets no other interval until it does (backend_overdue_flushes)',
        );
      }
      await flushing;
      metrics?.overdue(b.name, -1);
    }
    this.#release(d.held);
  }
}
