import type {
  CounterPoint,
  FlushSnapshot,
  GaugePoint,
  SeriesIdentity,
  SetPoint,
  TimerPercentile,
  TimerPoint,
} from './snapshot.js';
import { computeTimerStats, type DisabledPercentiles } from './timer-stats.js';
import type { Accumulator } from './accumulators.js';

/**
 * IntervalCut is one interval's raw data, detached from the live accumulators (parallel
 * arrays per kind, series in first-seen order): the aggregator keeps receiving while the
 * cut is turned into a FlushSnapshot. The accumulators are referenced only for their
 * identity and their reusable snapshot entry (a counter or gauge is its own entry).
 */
export interface IntervalCut {
  readonly timestampMs: number;
  readonly counters: readonly Accumulator[];
  readonly counterValues: Float64Array;
  readonly gauges: readonly Accumulator[];
  readonly gaugeValues: Float64Array;
  readonly timers: readonly Accumulator[];
  /** Raw values per timer (an empty array for an idle timer). */
  readonly timerValues: ReadonlyArray<readonly number[]>;
  /** Sum of 1/rate per timer. */
  readonly timerSampled: Float64Array;
  readonly sets: readonly Accumulator[];
  readonly setMembers: ReadonlyArray<ReadonlySet<string>>;
}

/** Settings the statistics depend on. */
export interface StatsConfig {
  percentThresholds: readonly number[];
  disabledPercentiles: DisabledPercentiles;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const EMPTY_VALUES = new Float64Array(0);
const NO_PERCENTILES: TimerPoint['percentiles'] = [];
const NO_MEMBERS: ReadonlySet<string> = new Set();

/** How many series are processed between checks of the time budget. */
export const CHUNK_SERIES = 512;

function point<T>(acc: Accumulator, make: (id: SeriesIdentity) => T, fresh: boolean): Mutable<T> {
  if (fresh) return make(acc);
  if (acc.point === undefined) acc.point = make(acc);
  return acc.point as Mutable<T>;
}

/** A counter's or gauge's entry: the accumulator itself, or a copy when `fresh`. */
function selfPoint<T>(acc: Accumulator, make: (id: SeriesIdentity) => T, fresh: boolean): Mutable<T> {
  return (fresh ? make(acc) : acc) as Mutable<T>;
}

const newCounter = (id: SeriesIdentity): CounterPoint => ({
  name: id.name,
  tags: id.tags,
  host: id.host,
  tagsKey: id.tagsKey,
  value: 0,
  perSecond: 0,
});
const newGauge = (id: SeriesIdentity): GaugePoint => ({
  name: id.name,
  tags: id.tags,
  host: id.host,
  tagsKey: id.tagsKey,
  value: 0,
});
const newSet = (id: SeriesIdentity): SetPoint => ({
  name: id.name,
  tags: id.tags,
  host: id.host,
  tagsKey: id.tagsKey,
  size: 0,
  members: NO_MEMBERS,
});
const newTimer = (id: SeriesIdentity): TimerPoint => ({
  name: id.name,
  tags: id.tags,
  host: id.host,
  tagsKey: id.tagsKey,
  min: 0,
  max: 0,
  count: 0,
  perSecond: 0,
  mean: 0,
  median: 0,
  stdDev: 0,
  sum: 0,
  sumSquares: 0,
  percentiles: NO_PERCENTILES,
  sampledCount: 0,
  values: EMPTY_VALUES,
});

/**
 * Computes the FlushSnapshot of a cut. A generator: it yields after every
 * {@link CHUNK_SERIES} series so a driver can give the event loop a turn; run it with
 * {@link runToEnd} for a synchronous result.
 *
 * Each series' entry object is reused from flush to flush (refreshed in place), so the
 * snapshot is valid until the next flush computes its own, unless `fresh` is set: then
 * every entry is new and the previous snapshot stays intact (a backend still holds it).
 */
export function* computeSnapshot(
  cut: IntervalCut,
  intervalSeconds: number,
  cfg: StatsConfig,
  fresh = false,
): Generator<void, FlushSnapshot> {
  const counters = new Array<CounterPoint>(cut.counters.length);
  for (let i = 0; i < counters.length; i++) {
    const p = selfPoint<CounterPoint>(cut.counters[i]!, newCounter, fresh);
    const value = cut.counterValues[i]!;
    p.value = value;
    p.perSecond = value / intervalSeconds;
    counters[i] = p;
    if ((i & (CHUNK_SERIES - 1)) === CHUNK_SERIES - 1) yield;
  }
  const timers = new Array<TimerPoint>(cut.timers.length);
  let work = 0;
  for (let i = 0; i < timers.length; i++) {
    const p = point(cut.timers[i]!, newTimer, fresh);
    const raw = cut.timerValues[i]!;
    if (raw.length === 0) {
      p.min = p.max = p.count = p.perSecond = p.mean = p.median = p.stdDev = p.sum = p.sumSquares = p.sampledCount = 0;
      p.percentiles = NO_PERCENTILES;
      p.values = EMPTY_VALUES;
    } else {
      const sorted = raw.length === 1 ? raw : Float64Array.from(raw).sort();
      const reuse = p.percentiles === NO_PERCENTILES ? undefined : (p.percentiles as TimerPercentile[]);
      const st = computeTimerStats(sorted, cfg.percentThresholds, cfg.disabledPercentiles, reuse);
      const sampled = cut.timerSampled[i]!;
      p.min = st.min;
      p.max = st.max;
      p.count = Math.floor(sampled + 0.5);
      p.perSecond = sampled / intervalSeconds;
      p.mean = st.mean;
      p.median = st.median;
      p.stdDev = st.stdDev;
      p.sum = st.sum;
      p.sumSquares = st.sumSquares;
      p.percentiles = st.percentiles;
      p.sampledCount = sampled;
      p.values = sorted;
    }
    timers[i] = p;
    work += 1 + (raw.length >> 6);
    if (work >= CHUNK_SERIES) {
      work = 0;
      yield;
    }
  }
  const gauges = new Array<GaugePoint>(cut.gauges.length);
  for (let i = 0; i < gauges.length; i++) {
    const p = selfPoint<GaugePoint>(cut.gauges[i]!, newGauge, fresh);
    p.value = cut.gaugeValues[i]!;
    gauges[i] = p;
    if ((i & (CHUNK_SERIES - 1)) === CHUNK_SERIES - 1) yield;
  }
  const sets = new Array<SetPoint>(cut.sets.length);
  for (let i = 0; i < sets.length; i++) {
    const p = point(cut.sets[i]!, newSet, fresh);
    const members = cut.setMembers[i]!;
    p.size = members.size;
    p.members = members;
    sets[i] = p;
    if ((i & (CHUNK_SERIES - 1)) === CHUNK_SERIES - 1) yield;
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
 * Rejects with the signal's reason once `signal` aborts.
 */
export async function runChunked<T>(gen: Generator<void, T>, signal?: AbortSignal, budgetMs = 4): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    // An abandoned flush stops here instead of racing the next one.
    signal?.throwIfAborted();
    const r = gen.next();
    if (r.done === true) return r.value;
    if (performance.now() - sliceStart >= budgetMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}
