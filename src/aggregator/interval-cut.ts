import type { CounterPoint, FlushSnapshot, GaugePoint, SeriesIdentity, SetPoint, TimerPoint } from './snapshot.js';
import { computeTimerStats, type DisabledPercentiles } from './timer-stats.js';

/** A timer's raw interval data, taken out of its accumulator at the cut. */
export interface TimerCut {
  readonly id: SeriesIdentity;
  readonly values: number[];
  readonly sampled: number;
}

/**
 * IntervalCut is one interval's raw data, detached from the live accumulators: the
 * aggregator may keep receiving while the cut is turned into a FlushSnapshot.
 */
export interface IntervalCut {
  readonly timestampMs: number;
  readonly counters: ReadonlyArray<{ readonly id: SeriesIdentity; readonly value: number }>;
  readonly gauges: ReadonlyArray<{ readonly id: SeriesIdentity; readonly value: number }>;
  readonly timers: readonly TimerCut[];
  readonly sets: ReadonlyArray<{ readonly id: SeriesIdentity; readonly members: ReadonlySet<string> }>;
}

/** Settings the statistics depend on. */
export interface StatsConfig {
  percentThresholds: readonly number[];
  disabledPercentiles: DisabledPercentiles;
}

const EMPTY_VALUES = new Float64Array(0);

/** How many series are processed between checks of the time budget. */
export const CHUNK_SERIES = 512;

/**
 * Computes the FlushSnapshot of a cut. A generator: it yields after every
 * {@link CHUNK_SERIES} series so a driver can give the event loop a turn; run it with
 * {@link runToEnd} for a synchronous result.
 */
export function* computeSnapshot(
  cut: IntervalCut,
  intervalSeconds: number,
  cfg: StatsConfig,
): Generator<void, FlushSnapshot> {
  const counters: CounterPoint[] = [];
  let n = 0;
  for (const c of cut.counters) {
    counters.push({ ...c.id, value: c.value, perSecond: c.value / intervalSeconds });
    if (++n % CHUNK_SERIES === 0) yield;
  }
  const timers: TimerPoint[] = [];
  for (const t of cut.timers) {
    if (t.values.length === 0) {
      timers.push({
        ...t.id,
        min: 0,
        max: 0,
        count: 0,
        perSecond: 0,
        mean: 0,
        median: 0,
        stdDev: 0,
        sum: 0,
        sumSquares: 0,
        percentiles: [],
        sampledCount: 0,
        values: EMPTY_VALUES,
      });
    } else {
      const sorted = Float64Array.from(t.values).sort();
      const st = computeTimerStats(sorted, cfg.percentThresholds, cfg.disabledPercentiles);
      timers.push({
        ...t.id,
        ...st,
        count: Math.floor(t.sampled + 0.5),
        perSecond: t.sampled / intervalSeconds,
        sampledCount: t.sampled,
        values: sorted,
      });
    }
    n += 1 + (t.values.length >> 6);
    if (n >= CHUNK_SERIES) {
      n = 0;
      yield;
    }
  }
  const gauges: GaugePoint[] = [];
  for (const g of cut.gauges) {
    gauges.push({ ...g.id, value: g.value });
    if (++n % CHUNK_SERIES === 0) yield;
  }
  const sets: SetPoint[] = [];
  for (const s of cut.sets) {
    sets.push({ ...s.id, size: s.members.size, members: s.members });
    if (++n % CHUNK_SERIES === 0) yield;
  }
  return { timestampMs: cut.timestampMs, intervalSeconds, counters, timers, gauges, sets };
}

/** Runs a chunked generator to its end synchronously. */
export function runToEnd<T>(gen: Generator<void, T>): T {
  for (;;) {
    const r = gen.next();
    if (r.done === true) return r.value;
  }
}

/**
 * Runs a chunked generator, giving the event loop a turn (setImmediate) whenever more
 * than `budgetMs` passed since the last one, so receiving never waits long behind it.
 */
export async function runChunked<T>(gen: Generator<void, T>, budgetMs = 4): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const r = gen.next();
    if (r.done === true) return r.value;
    if (performance.now() - sliceStart >= budgetMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}
