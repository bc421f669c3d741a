import type { MetricKind } from '../parser/sample.js';
import {
  adjustGauge,
  applySample,
  mergeFoldedTimer,
  UNBOUNDED,
  type TimerBounds,
  mergeTimerValues,
  newAccumulator,
  type Accumulator,
  type CounterSeries,
  type GaugeSeries,
  type SeriesOf,
  type SeriesTags,
  type SetSeries,
  type TimerSeries,
} from './accumulators.js';
import type { Aggregator, SeriesRef, SeriesSample } from './aggregator.js';
import { DEFAULT_MAX_BUCKETS, type FoldedTimer } from './folded-timer.js';
import { fnv1a } from '../shared/hash.js';
import { computeSnapshot, TimerColumns, type IntervalCut } from './interval-cut.js';
import { runToEnd } from '../shared/cooperative.js';
import type {
  DisabledPercentiles,
  FlushSnapshot,
  SeriesIdentity,
  SetPoint,
  StatsConfig,
  TimerPoint,
} from './snapshot.js';

/** Idle-series expiry per kind, in ms; 0 keeps idle series forever. */
export interface ExpiryConfig {
  counterMs: number;
  gaugeMs: number;
  setMs: number;
  timerMs: number;
}

/** Settings of {@link InMemoryAggregator}. */
export interface AggregatorConfig {
  /** Number of partitions the series look-up is split into (1 in the daemon: each thread has its own aggregator). */
  shards: number;
  /** Percentile thresholds (`percent-threshold`), each in [-100, 100]. */
  percentThresholds: readonly number[];
  disabledPercentiles: DisabledPercentiles;
  expiry: ExpiryConfig;
  /** Cap on live series of all kinds (`max-series`); 0 = none. Samples for new series past it are dropped. */
  maxSeries?: number;
  /** `timer-exact-values`: values a timer series keeps exactly per interval (0 = all of them). */
  timerExactValues?: number;
  /** `timer-max-buckets`: the histogram's buckets per sign past that (default 160). */
  timerMaxBuckets?: number;
}

function timerBounds(c: AggregatorConfig): TimerBounds {
  const exact = c.timerExactValues ?? 0;
  return { exactValues: exact > 0 ? exact : UNBOUNDED, maxBuckets: c.timerMaxBuckets ?? DEFAULT_MAX_BUCKETS };
}

/**
 * The series of one kind in one shard. Most names have one series or a few (one per
 * sender or tag set): they are found by name and then along `next`, which needs no key
 * string per series. Past {@link CHAIN_MAX} series of one name, the others are kept
 * under `name + "\n" + tagsKey` so a high-cardinality tag never makes look-ups linear.
 */
interface KindIndex {
  readonly byName: Map<string, Accumulator>;
  readonly byKey: Map<string, Accumulator>;
}
type ShardMaps = Record<MetricKind, KindIndex>;

const CHAIN_MAX = 8;
/** Distinct tag sets whose {@link SeriesTags} object is shared; past it the table starts over. */
const SHARED_TAGS_MAX = 4096;
/** A timer's value array larger than this shrinks back once an interval uses under a quarter of it. */
const SHRINK_VALUES_ABOVE = 1024;

/** The arrays a cut is written into, kept for the next cut. */
interface CutBuffers {
  counters: CounterSeries[];
  counterValues: Float64Array;
  gauges: GaugeSeries[];
  gaugeValues: Float64Array;
  timers: TimerSeries[];
  timerStart: Int32Array;
  timerData: Float64Array;
  timerSampled: Float64Array;
  sets: SetSeries[];
  setMembers: Array<Set<string>>;
  timerPoints: TimerPoint[];
  setPoints: SetPoint[];
  timerColumns: TimerColumns;
  timerFolded: Array<FoldedTimer | undefined>;
}

const NO_F64 = new Float64Array(0);
const NO_I32 = new Int32Array(0);

function newCutBuffers(): CutBuffers {
  return {
    counters: [],
    counterValues: NO_F64,
    gauges: [],
    gaugeValues: NO_F64,
    timers: [],
    timerStart: NO_I32,
    timerData: NO_F64,
    timerSampled: NO_F64,
    sets: [],
    setMembers: [],
    timerPoints: [],
    setPoints: [],
    timerColumns: new TimerColumns(),
    timerFolded: [],
  };
}

/** `buf` if it holds `n` elements, else a new array with room for `n` and a quarter more. */
function capacity<T extends Float64Array | Int32Array>(buf: T, n: number): T {
  if (buf.length >= n) return buf;
  const size = n + (n >> 2) + 16;
  return (buf instanceof Float64Array ? new Float64Array(size) : new Int32Array(size)) as T;
}

function newShard(): ShardMaps {
  const index = (): KindIndex => ({ byName: new Map(), byKey: new Map() });
  return { counter: index(), gauge: index(), timer: index(), set: index() };
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function shardIndex(name: string, host: string, shards: number): number {
  return shards === 1 ? 0 : (fnv1a(host, fnv1a(name)) >>> 0) % shards;
}

/** Raw names kept at most (a hostile sender cannot grow the table further). */
const RAW_NAMES_MAX = 10_000;

/**
 * InMemoryAggregator keeps every series in `shards` partitions (keyed by name and host)
 * and merges them into ONE interval cut per flush, so backends never see partial maps.
 *
 * Semantics follow gostatsd (docs/semantics.md#aggregation) with one deliberate change:
 * within a datagram the last gauge value wins.
 */
export class InMemoryAggregator implements Aggregator {
  /** Raw names of series whose normalisation changed them (FlushSnapshot.rawNames). */
  readonly #rawNames = new Map<string, string>();
  #config: AggregatorConfig;
  readonly #shards: ShardMaps[];
  /** Live series per kind in creation order, whatever shard holds them. */
  readonly #order: { [K in MetricKind]: Array<SeriesOf[K]> } = { counter: [], gauge: [], timer: [], set: [] };
  /** Live series of all kinds. */
  #live = 0;
  #seriesDropped = 0;
  /** The arrays of the last cut, reused by the next one unless it must be fresh. */
  #buffers: CutBuffers | undefined;
  /** Tags objects by tags key, shared by new series (most series of a daemon have the same few). */
  readonly #sharedTags = new Map<string, SeriesTags>();

  /** How many values a timer keeps exactly (`timer-exact-values`), and its histogram past that. */
  #timerBounds: TimerBounds;

  constructor(config: AggregatorConfig) {
    this.#config = config;
    this.#timerBounds = timerBounds(config);
    this.#shards = Array.from({ length: Math.max(1, config.shards) }, newShard);
  }

  /** Live series of all types. */
  get liveSeries(): number {
    return this.#live;
  }

  /** Samples dropped because they would have created a series past `maxSeries`. */
  get seriesDropped(): number {
    return this.#seriesDropped;
  }

  /** The settings in force. */
  get config(): AggregatorConfig {
    return this.#config;
  }

  /**
   * Changes percentiles and expiry (a config reload). Takes effect at the next cut; the
   * shard count is fixed for the aggregator's life.
   */
  reconfigure(next: Omit<AggregatorConfig, 'shards'>): void {
    this.#config = { ...next, shards: this.#config.shards };
    this.#timerBounds = timerBounds(this.#config);
  }

  /** The settings the statistics of a cut depend on. */
  get statsConfig(): StatsConfig {
    return { percentThresholds: this.#config.percentThresholds, disabledPercentiles: this.#config.disabledPercentiles };
  }

  applyTo(ref: SeriesRef, value: number, member: string, rate: number, nowMs: number): void {
    applySample(ref as Accumulator, value, member, rate, nowMs, this.#timerBounds);
  }

  noteRawName(name: string, raw: string): void {
    if (this.#rawNames.size < RAW_NAMES_MAX && !this.#rawNames.has(name)) this.#rawNames.set(name, raw);
  }

  adjustGauge(ref: SeriesRef, delta: number, nowMs: number): void {
    adjustGauge(ref as GaugeSeries, delta, nowMs);
  }

  record(s: SeriesSample, nowMs: number): Accumulator | undefined {
    const acc = this.resolve(s, nowMs);
    if (acc !== undefined) applySample(acc, s.value, s.member, s.rate, nowMs, this.#timerBounds);
    return acc;
  }

  mergeTimerHistogram(ref: SeriesRef, folded: FoldedTimer, sampledCount: number, nowMs: number): void {
    mergeFoldedTimer(ref as TimerSeries, folded, sampledCount, nowMs, this.#timerBounds);
  }

  mergeTimer(
    ref: SeriesRef,
    values: ArrayLike<number>,
    sampledCount: number,
    nowMs: number,
    from = 0,
    to = values.length,
  ): void {
    mergeTimerValues(ref as TimerSeries, values, sampledCount, nowMs, this.#timerBounds, from, to);
  }

  resolve(s: SeriesIdentity & { readonly kind: MetricKind }, nowMs: number): Accumulator | undefined {
    const index = this.#shards[shardIndex(s.name, s.host, this.#shards.length)]![s.kind];
    const first = index.byName.get(s.name);
    let acc = first;
    let chain = 0;
    while (acc !== undefined && acc.tagsKey !== s.tagsKey) {
      acc = acc.next;
      chain++;
    }
    if (acc === undefined && index.byKey.size > 0) acc = index.byKey.get(s.name + '\n' + s.tagsKey);
    if (acc === undefined) {
      const max = this.#config.maxSeries ?? 0;
      if (max > 0 && this.#live >= max) {
        this.#seriesDropped++;
        return undefined;
      }
      this.#live++;
      acc = newAccumulator(s.kind, s.name, this.#tagsOf(s), nowMs);
      if (first === undefined) index.byName.set(s.name, acc);
      else if (chain < CHAIN_MAX) {
        acc.next = first.next;
        first.next = acc;
      } else index.byKey.set(s.name + '\n' + s.tagsKey, acc);
      (this.#order[s.kind] as Accumulator[]).push(acc);
    }
    return acc;
  }

  /** The shared tags object of a series' tags and host. */
  #tagsOf(s: SeriesIdentity): SeriesTags {
    let t = this.#sharedTags.get(s.tagsKey);
    if (t === undefined || t.host !== s.host || !sameTags(t.tags, s.tags)) {
      t = { tags: s.tags, host: s.host, tagsKey: s.tagsKey };
      // A high-cardinality tag must not pin tag sets forever: the table just starts over.
      if (this.#sharedTags.size >= SHARED_TAGS_MAX) this.#sharedTags.clear();
      this.#sharedTags.set(s.tagsKey, t);
    }
    return t;
  }

  /**
   * Ends the interval in one pass per kind: copies each series' interval data into the
   * cut, then resets it (counters to 0, timers and sets emptied, gauges kept) or, if idle
   * for longer than its kind's expiry, deletes it. Expired series still appear in this
   * cut, as in the reference.
   *
   * Unless `fresh`, the cut is written into the same arrays as the previous one (and
   * {@link computeSnapshot} refreshes the previous snapshot's arrays and entries), so a
   * flush of 100,000 series allocates almost nothing: the caller guarantees that nobody
   * still reads the previous cut or snapshot. A `fresh` cut uses new arrays and leaves
   * the previous ones intact.
   */
  cut(nowMs: number, fresh = false): IntervalCut {
    const { expiry } = this.#config;
    const b = fresh || this.#buffers === undefined ? newCutBuffers() : this.#buffers;
    this.#buffers = b;
    const counters = this.#sweep('counter', nowMs, expiry.counterMs, b.counters);
    const counterValues = (b.counterValues = capacity(b.counterValues, counters.length));
    for (let i = 0; i < counters.length; i++) {
      const a = counters[i]!;
      counterValues[i] = a.current;
      a.current = 0;
    }
    const gauges = this.#sweep('gauge', nowMs, expiry.gaugeMs, b.gauges);
    const gaugeValues = (b.gaugeValues = capacity(b.gaugeValues, gauges.length));
    for (let i = 0; i < gauges.length; i++) gaugeValues[i] = gauges[i]!.current;
    const timers = this.#sweep('timer', nowMs, expiry.timerMs, b.timers);
    let total = 0;
    const folded = b.timerFolded;
    folded.length = timers.length;
    for (let i = 0; i < timers.length; i++) {
      const f = timers[i]!.folded;
      folded[i] = f;
      // A folded timer hands its backends representatives: as many as it kept exactly.
      total += f === undefined ? timers[i]!.valueCount : Math.min(f.count, f.exactLimit);
    }
    const timerStart = (b.timerStart = capacity(b.timerStart, timers.length + 1));
    const timerData = (b.timerData = capacity(b.timerData, total));
    const timerSampled = (b.timerSampled = capacity(b.timerSampled, timers.length));
    let off = 0;
    for (let i = 0; i < timers.length; i++) {
      const a = timers[i]!;
      timerStart[i] = off;
      const f = folded[i];
      if (f !== undefined) {
        const reps = f.representatives(f.exactLimit);
        timerData.set(reps, off);
        off += reps.length;
        a.folded = undefined;
      }
      const values = a.values;
      const n = f === undefined ? a.valueCount : 0;
      for (let j = 0; j < n; j++) timerData[off++] = values[j]!;
      // A burst's worth of room is given back once the series is quiet again.
      if (values.length > SHRINK_VALUES_ABOVE && n < values.length >> 2) a.values = [];
      a.valueCount = 0;
      timerSampled[i] = a.sampled;
      a.sampled = 0;
    }
    timerStart[timers.length] = off;
    const sets = this.#sweep('set', nowMs, expiry.setMs, b.sets);
    const setMembers = b.setMembers;
    setMembers.length = sets.length;
    for (let i = 0; i < sets.length; i++) {
      const a = sets[i]!;
      setMembers[i] = a.members;
      if (a.members.size > 0) a.members = new Set();
    }
    return {
      timestampMs: nowMs,
      fresh,
      counters,
      counterValues,
      gauges,
      gaugeValues,
      timers,
      timerStart,
      timerData,
      timerSampled,
      sets,
      setMembers,
      timerPoints: b.timerPoints,
      setPoints: b.setPoints,
      timerColumns: b.timerColumns,
      timerFolded: folded,
      rawNames: this.#rawNames,
    };
  }

  /**
   * Writes every live series of a kind into `out` (for the cut) and drops the expired
   * ones from the live list, in place.
   */
  #sweep<K extends MetricKind>(kind: K, nowMs: number, expiryMs: number, out: Array<SeriesOf[K]>): Array<SeriesOf[K]> {
    const all = this.#order[kind];
    const n = all.length;
    out.length = n;
    let keep = 0;
    for (let i = 0; i < n; i++) {
      const acc = all[i]!;
      out[i] = acc;
      if (expiryMs > 0 && nowMs - acc.lastSeenMs > expiryMs) {
        acc.expire();
        this.#unlink(this.#shards[shardIndex(acc.name, acc.host, this.#shards.length)]![kind], acc);
      } else all[keep++] = acc;
    }
    if (keep < n) {
      all.length = keep;
      this.#live -= n - keep;
    }
    return out;
  }

  /** Removes an expired series from its index. */
  #unlink(index: KindIndex, acc: Accumulator): void {
    const first = index.byName.get(acc.name);
    if (first === acc) {
      if (acc.next === undefined) index.byName.delete(acc.name);
      else index.byName.set(acc.name, acc.next);
      acc.next = undefined;
      return;
    }
    let prev = first;
    while (prev !== undefined && prev.next !== acc) prev = prev.next;
    if (prev !== undefined) {
      prev.next = acc.next;
      acc.next = undefined;
      return;
    }
    index.byKey.delete(acc.name + '\n' + acc.tagsKey);
  }

  snapshotAndReset(nowMs: number, intervalSeconds: number): FlushSnapshot {
    return runToEnd(computeSnapshot(this.cut(nowMs), intervalSeconds, this.statsConfig));
  }

  seriesCount(): Record<MetricKind, number> {
    const o = this.#order;
    return { counter: o.counter.length, gauge: o.gauge.length, timer: o.timer.length, set: o.set.length };
  }
}
