import type { MetricKind } from '../parser/sample.js';
import type { SeriesIdentity } from './snapshot.js';

/**
 * What every live series holds: its identity (inline rather than in a separate object),
 * when it was last seen, and its place in its name's chain. The ingest fast path keeps
 * references to series and applies samples to them directly, so a series deleted by
 * expiry is marked `dead` and the holder must resolve it again.
 *
 * Each kind is its own class holding only the fields it needs, so 100,000 series cost
 * ~100,000 objects of 100–130 bytes: no map key string is built (series are found by
 * name, then along `next`), and a counter or gauge is its own snapshot entry.
 */
abstract class SeriesBase implements SeriesIdentity {
  abstract readonly kind: MetricKind;
  readonly name: string;
  readonly tags: readonly string[];
  readonly host: string;
  readonly tagsKey: string;
  lastSeenMs: number;
  /** Set once the series expired and left the aggregator. */
  dead = false;
  /** The next series of the same kind and name in the same shard (other tags or host). */
  next: Accumulator | undefined = undefined;

  constructor(id: SeriesIdentity, nowMs: number) {
    this.name = id.name;
    this.tags = id.tags;
    this.host = id.host;
    this.tagsKey = id.tagsKey;
    this.lastSeenMs = nowMs;
  }
}

/** A counter: the interval's sum, and the last flush's value (it is its own snapshot entry). */
export class CounterSeries extends SeriesBase {
  readonly kind = 'counter';
  /** Sum of the current interval. */
  current = 0;
  /** The value of the last flush. */
  value = 0;
  /** `value` per second of the last flush. */
  perSecond = 0;
}

/** A gauge: its current value, and the last flush's (it is its own snapshot entry). */
export class GaugeSeries extends SeriesBase {
  readonly kind = 'gauge';
  /** The value now. */
  current = 0;
  /** The value of the last flush. */
  value = 0;
}

/** A timer (or histogram): the interval's raw values. */
export class TimerSeries extends SeriesBase {
  readonly kind = 'timer';
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
  /** The series' snapshot entry, created at its first flush and refreshed in place. */
  point: unknown = undefined;
}

/** A set: the interval's distinct members. */
export class SetSeries extends SeriesBase {
  readonly kind = 'set';
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

/** Creates an empty series of a kind. */
export function newAccumulator<K extends MetricKind>(kind: K, id: SeriesIdentity, nowMs: number): SeriesOf[K];
export function newAccumulator(kind: MetricKind, id: SeriesIdentity, nowMs: number): Accumulator {
  switch (kind) {
    case 'counter':
      return new CounterSeries(id, nowMs);
    case 'gauge':
      return new GaugeSeries(id, nowMs);
    case 'timer':
      return new TimerSeries(id, nowMs);
    case 'set':
      return new SetSeries(id, nowMs);
  }
}

/**
 * Applies one sample (gostatsd §5): counters add `trunc(value / rate)`, gauges take the
 * value (last write wins), timers keep the raw value and add `1 / rate`, sets add the
 * member. O(1); never throws.
 */
export function applySample(acc: Accumulator, value: number, member: string, rate: number, nowMs: number): void {
  acc.lastSeenMs = nowMs;
  switch (acc.kind) {
    case 'counter':
      acc.current += Math.trunc(value / rate) + 0;
      return;
    case 'gauge':
      acc.current = value;
      return;
    case 'timer':
      acc.values[acc.valueCount++] = value;
      acc.sampled += 1 / rate;
      return;
    case 'set':
      acc.members.add(member);
      return;
  }
}
