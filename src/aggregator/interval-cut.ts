import type { FoldedTimer } from './folded-timer.js';
import type {
  CounterPoint,
  FlushSnapshot,
  GaugePoint,
  SeriesIdentity,
  SetPoint,
  StatsConfig,
  TimerPercentile,
  TimerPoint,
} from './snapshot.js';
import { computeTimerStats, newTimerStats, type PercentileSlot } from './timer-stats.js';
import type { CounterSeries, GaugeSeries, SetSeries, TimerSeries } from './accumulators.js';
import { CHUNK_SERIES } from '../shared/cooperative.js';

/**
 * IntervalCut is one interval's raw data, detached from the live accumulators (parallel
 * arrays per kind, series in first-seen order): the aggregator keeps receiving while the
 * cut is turned into a FlushSnapshot. The accumulators are referenced only for their
 * identity and their reusable snapshot entry (a counter or gauge is its own entry).
 * Typed arrays may be longer than their kind's series list; only the first entries count.
 */
export interface IntervalCut {
  readonly timestampMs: number;
  /**
   * Whether the snapshot must be built from new arrays and entries. When false, the
   * previous flush's snapshot arrays and entries are refreshed in place (nobody reads
   * them any more), and the counter and gauge lists are the snapshot's own.
   */
  readonly fresh: boolean;
  readonly counters: CounterSeries[];
  readonly counterValues: Float64Array;
  readonly gauges: GaugeSeries[];
  readonly gaugeValues: Float64Array;
  readonly timers: readonly TimerSeries[];
  /** Timer `i`'s raw values are `timerData[timerStart[i] .. timerStart[i + 1])`. */
  readonly timerStart: Int32Array;
  readonly timerData: Float64Array;
  /** Sum of 1/rate per timer. */
  readonly timerSampled: Float64Array;
  readonly sets: readonly SetSeries[];
  readonly setMembers: ReadonlyArray<ReadonlySet<string>>;
  /** The previous snapshot's timer and set arrays, refilled when not `fresh`. */
  readonly timerPoints: TimerPoint[];
  readonly setPoints: SetPoint[];
  /** Where the snapshot's timer entries keep their numbers (the previous one's when not `fresh`). */
  readonly timerColumns: TimerColumns;
  /** See {@link FlushSnapshot.rawNames}. */
  readonly rawNames: ReadonlyMap<string, string>;
  /** Per timer: its histogram when it passed `timer-exact-values` (its values are then representatives). */
  readonly timerFolded: ReadonlyArray<FoldedTimer | undefined>;
}

// Layout of TimerColumns.stats: one row of STATS (10) numbers per timer entry, row i at
// stats[i * STATS .. i * STATS + STATS), holding these fields at these offsets:
const MIN = 0;
const MAX = 1;
const COUNT = 2;
const PER_SECOND = 3;
const MEAN = 4;
const MEDIAN = 5;
const STD_DEV = 6;
const SUM = 7;
const SUM_SQUARES = 8;
const SAMPLED = 9;
const STATS = 10;

/**
 * The numbers of one snapshot's timer entries, in typed arrays rather than in each
 * entry: `stats` holds {@link STATS} numbers per timer, `data`/`start` are the cut's
 * sorted values. Reused from flush to flush with the cut's arrays.
 */
export class TimerColumns {
  /** Per timer: its histogram when it passed `timer-exact-values`. */
  folded: Array<FoldedTimer | undefined> = [];
  stats = new Float64Array(0);
  data: Float64Array = new Float64Array(0);
  start: Int32Array = new Int32Array(1);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NO_PERCENTILES: TimerPoint['percentiles'] = [];
const NO_MEMBERS: ReadonlySet<string> = new Set();

/** Where each timer's statistics are computed before they are copied into its entry. */
const STATS_OUT = newTimerStats();
/** A timer's first percentile entries are computed here, then copied into an array of their own. */
const FIRST_SLOTS: PercentileSlot[] = [];
const NO_SLOTS: PercentileSlot[] = [];

/** A set's entry: its series' own, or a new one when `fresh`. */
function point<T>(acc: SetSeries, make: (id: SeriesIdentity) => T, fresh: boolean): Mutable<T> {
  if (fresh) return make(acc);
  if (acc.point === undefined) acc.point = make(acc);
  return acc.point as Mutable<T>;
}

/** A counter's or gauge's entry: the accumulator itself, or a copy when `fresh`. */
function selfPoint<T>(acc: CounterSeries | GaugeSeries, make: (id: SeriesIdentity) => T, fresh: boolean): Mutable<T> {
  return (fresh ? make(acc) : acc) as Mutable<T>;
}

const newCounter = (id: SeriesIdentity): CounterPoint => ({
  name: id.name,
  tags: id.tags,
  host: id.host,
  tagsKey: id.tagsKey,
  value: 0,
  perSecond: 0,
  lastSeenMs: (id as CounterSeries).lastSeenMs,
});
const newGauge = (id: SeriesIdentity): GaugePoint => ({
  name: id.name,
  tags: id.tags,
  host: id.host,
  tagsKey: id.tagsKey,
  value: 0,
  lastSeenMs: (id as GaugeSeries).lastSeenMs,
});
const newSet = (id: SeriesIdentity): SetPoint => ({
  name: id.name,
  tags: id.tags,
  host: id.host,
  tagsKey: id.tagsKey,
  size: 0,
  members: NO_MEMBERS,
});
/**
 * A timer's snapshot entry: its series (for the identity), its index, and its
 * percentile entries; the numbers live in the snapshot's {@link TimerColumns}, and
 * `values` makes a view of the sorted values only when a backend asks.
 */
class TimerEntry implements TimerPoint {
  readonly #series: SeriesIdentity;
  readonly columns: TimerColumns;
  /** The entry's index in its snapshot's timers. */
  index = 0;
  percentiles: readonly TimerPercentile[] = NO_PERCENTILES;
  /** The percentile entries, kept (for reuse) while `percentiles` is empty. */
  percentileSlots: PercentileSlot[] = NO_SLOTS;

  constructor(series: SeriesIdentity, columns: TimerColumns) {
    this.#series = series;
    this.columns = columns;
  }

  get name(): string {
    return this.#series.name;
  }
  get tags(): readonly string[] {
    return this.#series.tags;
  }
  get host(): string {
    return this.#series.host;
  }
  get tagsKey(): string {
    return this.#series.tagsKey;
  }
  /** Statistic `field` (MIN … SAMPLED) of this entry. */
  #stat(field: number): number {
    return this.columns.stats[this.index * STATS + field]!;
  }
  get min(): number {
    return this.#stat(MIN);
  }
  get max(): number {
    return this.#stat(MAX);
  }
  get count(): number {
    return this.#stat(COUNT);
  }
  get perSecond(): number {
    return this.#stat(PER_SECOND);
  }
  get mean(): number {
    return this.#stat(MEAN);
  }
  get median(): number {
    return this.#stat(MEDIAN);
  }
  get stdDev(): number {
    return this.#stat(STD_DEV);
  }
  get sum(): number {
    return this.#stat(SUM);
  }
  get sumSquares(): number {
    return this.#stat(SUM_SQUARES);
  }
  get sampledCount(): number {
    return this.#stat(SAMPLED);
  }
  get histogram(): FoldedTimer | undefined {
    return this.columns.folded[this.index];
  }
  get values(): Float64Array {
    const c = this.columns;
    return c.data.subarray(c.start[this.index], c.start[this.index + 1]);
  }
}

/** A timer's entry in `columns`: its series' own, or a new one when `fresh` or the columns changed. */
function timerPoint(acc: TimerSeries, columns: TimerColumns, fresh: boolean): TimerEntry {
  if (fresh) return new TimerEntry(acc, columns);
  let p = acc.point as TimerEntry | undefined;
  if (p === undefined || p.columns !== columns) acc.point = p = new TimerEntry(acc, columns);
  return p;
}

/** `list` with room for `n` entries (its length set to `n`), or a new array when `fresh`. */
function listOf<T>(list: T[], n: number, fresh: boolean): T[] {
  if (fresh) return new Array<T>(n);
  list.length = n;
  return list;
}

/**
 * Computes the FlushSnapshot of a cut. A generator: it yields after every
 * {@link CHUNK_SERIES} series so a driver can give the event loop a turn; run it with
 * {@link runToEnd} for a synchronous result.
 *
 * Each series' entry object and the snapshot's arrays are reused from flush to flush
 * (refreshed in place), so the snapshot is valid until the next flush computes its own,
 * unless the cut is `fresh`: then every array and entry is new and the previous snapshot
 * stays intact (a backend still holds it).
 */
export function* computeSnapshot(
  cut: IntervalCut,
  intervalSeconds: number,
  cfg: StatsConfig,
): Generator<void, FlushSnapshot> {
  const fresh = cut.fresh;
  // Unless fresh, a counter's or gauge's entry is its accumulator: the cut's list is the snapshot's.
  const counters = fresh ? new Array<CounterPoint>(cut.counters.length) : (cut.counters as CounterPoint[]);
  for (let i = 0; i < counters.length; i++) {
    const p = selfPoint<CounterPoint>(cut.counters[i]!, newCounter, fresh);
    const value = cut.counterValues[i]!;
    p.value = value;
    p.perSecond = value / intervalSeconds;
    counters[i] = p;
    if ((i & (CHUNK_SERIES - 1)) === CHUNK_SERIES - 1) yield;
  }
  const timers = listOf<TimerPoint>(cut.timerPoints, cut.timers.length, fresh);
  const data = cut.timerData;
  const columns = cut.timerColumns;
  columns.data = data;
  columns.start = cut.timerStart;
  if (columns.stats.length < timers.length * STATS) {
    columns.stats = new Float64Array((timers.length + (timers.length >> 2) + 16) * STATS);
  }
  const stats = columns.stats;
  let work = 0;
  for (let i = 0; i < timers.length; i++) {
    const p = timerPoint(cut.timers[i]!, columns, fresh);
    p.index = i;
    const start = cut.timerStart[i]!;
    const end = cut.timerStart[i + 1]!;
    const n = end - start;
    const o = i * STATS;
    columns.folded[i] = cut.timerFolded[i];
    if (n === 0) {
      stats.fill(0, o, o + STATS);
      p.percentiles = NO_PERCENTILES;
    } else {
      if (n > 1) data.subarray(start, end).sort();
      const st = STATS_OUT;
      const first = p.percentileSlots.length === 0;
      st.percentiles = first ? FIRST_SLOTS : p.percentileSlots;
      const f = cut.timerFolded[i];
      if (f === undefined) computeTimerStats(data, cfg.percentThresholds, cfg.disabledPercentiles, st, start, end);
      else f.stats(cfg.percentThresholds, cfg.disabledPercentiles, st);
      // An array grown by push keeps room for ~16 entries; the copy has exactly its own.
      if (first && FIRST_SLOTS.length > 0)
        p.percentileSlots = FIRST_SLOTS.map((e) => ({ stat: e.stat, threshold: e.threshold, value: e.value }));
      const sampled = cut.timerSampled[i]!;
      stats[o + MIN] = st.min;
      stats[o + MAX] = st.max;
      stats[o + COUNT] = Math.floor(sampled + 0.5);
      stats[o + PER_SECOND] = sampled / intervalSeconds;
      stats[o + MEAN] = st.mean;
      stats[o + MEDIAN] = st.median;
      stats[o + STD_DEV] = st.stdDev;
      stats[o + SUM] = st.sum;
      stats[o + SUM_SQUARES] = st.sumSquares;
      stats[o + SAMPLED] = sampled;
      p.percentiles = p.percentileSlots.length === 0 ? NO_PERCENTILES : p.percentileSlots;
    }
    timers[i] = p;
    work += 1 + (n >> 6);
    if (work >= CHUNK_SERIES) {
      work = 0;
      yield;
    }
  }
  const gauges = fresh ? new Array<GaugePoint>(cut.gauges.length) : (cut.gauges as GaugePoint[]);
  for (let i = 0; i < gauges.length; i++) {
    const p = selfPoint<GaugePoint>(cut.gauges[i]!, newGauge, fresh);
    p.value = cut.gaugeValues[i]!;
    gauges[i] = p;
    if ((i & (CHUNK_SERIES - 1)) === CHUNK_SERIES - 1) yield;
  }
  const sets = listOf<SetPoint>(cut.setPoints, cut.sets.length, fresh);
  for (let i = 0; i < sets.length; i++) {
    const p = point(cut.sets[i]!, newSet, fresh);
    const members = cut.setMembers[i]!;
    p.size = members.size;
    p.members = members;
    sets[i] = p;
    if ((i & (CHUNK_SERIES - 1)) === CHUNK_SERIES - 1) yield;
  }
  return {
    timestampMs: cut.timestampMs,
    intervalSeconds,
    stats: cfg,
    counters,
    timers,
    gauges,
    sets,
    rawNames: cut.rawNames,
  };
}
