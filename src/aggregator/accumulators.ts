import type { MetricKind } from '../parser/sample.js';
import type { SeriesIdentity } from './snapshot.js';

const NO_VALUES: number[] = [];
const NO_MEMBERS = new Set<string>();

/**
 * One live series: its identity, its interval data and, for counters and gauges, its
 * last flushed value. The ingest fast path keeps references to these and applies
 * samples to them directly, so an accumulator deleted by expiry is marked `dead` and
 * the holder must resolve the series again.
 *
 * A series is one object (plus a timer's values or a set's members): the identity is
 * held inline rather than in a separate object, no map key string is built (series are
 * found by name, then along `next`), and a counter or gauge is its own snapshot entry
 * (`value`, `perSecond`), so 100,000 series cost ~100,000 objects.
 */
export class Accumulator implements SeriesIdentity {
  readonly kind: MetricKind;
  readonly name: string;
  readonly tags: readonly string[];
  readonly host: string;
  readonly tagsKey: string;
  lastSeenMs: number;
  /** Set once the series expired and left the aggregator. */
  dead = false;
  /** The next series of the same kind and name in the same shard (other tags or host). */
  next: Accumulator | undefined = undefined;
  /** Counter sum or gauge value of the current interval. */
  current = 0;
  /**
   * Timer values of the current interval (timers only): the first `valueCount` entries.
   * The array is kept from interval to interval, so recording allocates nothing once it
   * has grown to the series' usual sample count.
   */
  values: number[];
  /** Number of timer values recorded in the current interval. */
  valueCount = 0;
  /** Sum of 1/rate of the current interval (timers only). */
  sampled = 0;
  /** Distinct members of the current interval (sets only). */
  members: Set<string>;
  /** Counters and gauges: the value of the last flush (this object is their snapshot entry). */
  value = 0;
  /** Counters: `value` per second of the last flush. */
  perSecond = 0;
  /**
   * Timers and sets: the series' snapshot entry, created at its first flush and refreshed
   * in place at every flush, so a flush allocates no per-series objects.
   */
  point: unknown = undefined;

  constructor(kind: MetricKind, id: SeriesIdentity, nowMs: number) {
    this.kind = kind;
    this.name = id.name;
    this.tags = id.tags;
    this.host = id.host;
    this.tagsKey = id.tagsKey;
    this.lastSeenMs = nowMs;
    this.values = kind === 'timer' ? [] : NO_VALUES;
    this.members = kind === 'set' ? new Set() : NO_MEMBERS;
  }
}

/** Creates an empty accumulator of a kind. */
export function newAccumulator(kind: MetricKind, id: SeriesIdentity, nowMs: number): Accumulator {
  return new Accumulator(kind, id, nowMs);
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
