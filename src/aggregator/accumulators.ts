import { DEFAULT_MAX_BUCKETS, FoldedTimer } from './folded-timer.js';
import type { MetricKind } from '../parser/sample.js';
import type { SeriesIdentity } from './snapshot.js';

/** The tags and host part of a series identity; series with the same tags share one. */
export interface SeriesTags {
  readonly tags: readonly string[];
  readonly host: string;
  readonly tagsKey: string;
}

/** `lastSeenMs` of a series that expired. */
const DEAD = -1;

/**
 * What every live series holds: its name, its tags (an object shared with the other
 * series of the same tags), when it was last seen, and its place in its name's chain. The
 * ingest fast path keeps references to series and applies samples to them directly, so a
 * series deleted by expiry is marked `dead` and the holder must resolve it again.
 *
 * Each kind is its own class holding only the fields it needs (its kind is on the
 * prototype), so 100,000 series cost ~100,000 objects of 80–100 bytes: no map key string
 * is built (series are found by name, then along `next`), and a counter or gauge is its
 * own snapshot entry.
 */
abstract class SeriesBase implements SeriesIdentity {
  abstract readonly kind: MetricKind;
  readonly name: string;
  readonly id: SeriesTags;
  /**
   * When a sample last arrived, ms since the epoch; -1 once the series expired. Declared
   * only (no class field), so that its first value is a number: a field that starts out
   * `undefined` holds every later double in a new heap box (an allocation per sample).
   */
  declare lastSeenMs: number;
  /** The next series of the same kind and name in the same shard (other tags or host). */
  next: Accumulator | undefined = undefined;

  constructor(name: string, id: SeriesTags, nowMs: number) {
    this.name = name;
    this.id = id;
    this.lastSeenMs = nowMs;
  }

  get tags(): readonly string[] {
    return this.id.tags;
  }

  get host(): string {
    return this.id.host;
  }

  get tagsKey(): string {
    return this.id.tagsKey;
  }

  /** Whether the series expired and left the aggregator. */
  get dead(): boolean {
    return this.lastSeenMs === DEAD;
  }

  /** Marks the series expired. */
  expire(): void {
    this.lastSeenMs = DEAD;
  }
}

/** A counter: the interval's sum, and the last flush's value (it is its own snapshot entry). */
export class CounterSeries extends SeriesBase {
  get kind(): 'counter' {
    return 'counter';
  }
  /** Sum of the current interval. */
  current = 0;
  /** The value of the last flush. */
  value = 0;
  /** `value` per second of the last flush. */
  perSecond = 0;
}

/** A gauge: its current value, and the last flush's (it is its own snapshot entry). */
export class GaugeSeries extends SeriesBase {
  get kind(): 'gauge' {
    return 'gauge';
  }
  /** The value now. */
  current = 0;
  /** The value of the last flush. */
  value = 0;
  /**
   * Whether a value (not a delta) was set since the last partial cut, and the deltas added
   * since that value (or since the cut): what an ingest worker's partial cut sends, so that
   * deltas received by different workers add up (src/aggregator/partial-cut.ts).
   */
  valueSet = false;
  delta = 0;
}

/** A timer (or histogram): the interval's raw values. */
export class TimerSeries extends SeriesBase {
  get kind(): 'timer' {
    return 'timer';
  }
  /**
   * Values of the current interval: the first `valueCount` entries. The array is kept
   * from interval to interval, so recording allocates nothing once it has grown to the
   * series' usual sample count.
   */
  values: number[] = [];
  /** Number of values recorded in the current interval. */
  valueCount = 0;
  /** Sum of 1/rate of the current interval. */
  sampled = 0;
  /**
   * The interval's values once there are more than `timer-exact-values`: folded into a
   * histogram (`values` is let go, `valueCount` stays at the limit).
   */
  folded: FoldedTimer | undefined = undefined;
  /** The series' snapshot entry, created at its first flush and refreshed in place. */
  point: unknown = undefined;
}

/** How many values a timer series keeps exactly per interval, and its histogram's buckets past that. */
export interface TimerBounds {
  /** `timer-exact-values`; {@link UNBOUNDED} keeps every value. */
  readonly exactValues: number;
  /** `timer-max-buckets`. */
  readonly maxBuckets: number;
}

/** Every value kept exactly (a small integer, as the count it is compared with). */
export const UNBOUNDED = 0x3fffffff;

/** Timer bounds that keep every value. */
export const NO_TIMER_BOUNDS: TimerBounds = { exactValues: UNBOUNDED, maxBuckets: DEFAULT_MAX_BUCKETS };

/** Records one timer value: exactly below the limit, else into the series' histogram (created, with the exact values, at the first one past it). */
function recordTimerValue(acc: TimerSeries, value: number, bounds: TimerBounds): void {
  if (acc.valueCount < bounds.exactValues) {
    acc.values[acc.valueCount++] = value;
    return;
  }
  let f = acc.folded;
  if (f === undefined) {
    f = acc.folded = FoldedTimer.of(acc.values, acc.valueCount, bounds.maxBuckets, bounds.exactValues);
    acc.values = [];
  }
  f.add(value);
}

/**
 * Merges a forwarded folded interval (a histogram) into a timer series: the series folds
 * too, its exact values joining the histogram, and later samples follow into it.
 */
export function mergeFoldedTimer(
  acc: TimerSeries,
  other: FoldedTimer,
  sampledCount: number,
  nowMs: number,
  bounds: TimerBounds,
): void {
  acc.lastSeenMs = nowMs;
  let f = acc.folded;
  if (f === undefined) {
    const limit = Math.min(bounds.exactValues, other.exactLimit);
    f = acc.folded = FoldedTimer.of(acc.values, acc.valueCount, bounds.maxBuckets, limit);
    acc.values = [];
    acc.valueCount = bounds.exactValues;
  }
  f.merge(other);
  acc.sampled += sampledCount;
}

/** A set: the interval's distinct members. */
export class SetSeries extends SeriesBase {
  get kind(): 'set' {
    return 'set';
  }
  /** Distinct members of the current interval. */
  members = new Set<string>();
  /** The series' snapshot entry, created at its first flush and refreshed in place. */
  point: unknown = undefined;
}

/** One live series of any kind. */
export type Accumulator = CounterSeries | GaugeSeries | TimerSeries | SetSeries;

/** The series class of each kind. */
export interface SeriesOf {
  counter: CounterSeries;
  gauge: GaugeSeries;
  timer: TimerSeries;
  set: SetSeries;
}

/** Creates an empty series of a kind; `id` is kept (not copied) and may be shared. */
export function newAccumulator<K extends MetricKind>(kind: K, name: string, id: SeriesTags, nowMs: number): SeriesOf[K];
export function newAccumulator(kind: MetricKind, name: string, id: SeriesTags, nowMs: number): Accumulator {
  switch (kind) {
    case 'counter':
      return new CounterSeries(name, id, nowMs);
    case 'gauge':
      return new GaugeSeries(name, id, nowMs);
    case 'timer':
      return new TimerSeries(name, id, nowMs);
    case 'set':
      return new SetSeries(name, id, nowMs);
  }
}

/**
 * Applies one sample (docs/semantics.md#aggregation): counters add `trunc(value / rate)`, gauges take the
 * value (last write wins), timers keep the raw value and add `1 / rate`, sets add the
 * member. O(1); never throws.
 */
export function applySample(
  acc: Accumulator,
  value: number,
  member: string,
  rate: number,
  nowMs: number,
  bounds: TimerBounds = NO_TIMER_BOUNDS,
): void {
  acc.lastSeenMs = nowMs;
  switch (acc.kind) {
    case 'counter':
      acc.current += Math.trunc(value / rate) + 0;
      return;
    case 'gauge':
      acc.current = value;
      acc.valueSet = true;
      acc.delta = 0;
      return;
    case 'timer':
      if (acc.valueCount < bounds.exactValues) acc.values[acc.valueCount++] = value;
      else recordTimerValue(acc, value, bounds);
      acc.sampled += 1 / rate;
      return;
    case 'set':
      acc.members.add(member);
      return;
  }
}

/**
 * Adds a signed gauge value to the gauge (`gauge-deltas = apply`, docs/semantics.md#aggregation):
 * a new gauge starts from 0.
 */
export function adjustGauge(acc: GaugeSeries, delta: number, nowMs: number): void {
  acc.lastSeenMs = nowMs;
  acc.current += delta;
  acc.delta += delta;
}

/**
 * Merges a forwarded interval of a timer (docs/semantics.md#aggregation): its raw values
 * `values[from, to)` are appended and its sampled count (sum of `1 / rate`) added.
 */
export function mergeTimerValues(
  acc: TimerSeries,
  values: ArrayLike<number>,
  sampledCount: number,
  nowMs: number,
  bounds: TimerBounds = NO_TIMER_BOUNDS,
  from = 0,
  to = values.length,
): void {
  acc.lastSeenMs = nowMs;
  if (acc.valueCount + (to - from) <= bounds.exactValues) {
    const out = acc.values;
    let n = acc.valueCount;
    for (let i = from; i < to; i++) out[n++] = values[i]!;
    acc.valueCount = n;
  } else for (let i = from; i < to; i++) recordTimerValue(acc, values[i]!, bounds);
  acc.sampled += sampledCount;
}
