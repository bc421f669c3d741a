import type { MetricKind } from '../parser/sample.js';
import type { SeriesIdentity } from './snapshot.js';

/**
 * One live series. The ingest fast path keeps references to these and applies samples
 * to them directly, so an accumulator deleted by expiry is marked `dead` and the holder
 * must resolve the series again.
 */
export interface Accumulator {
  readonly kind: MetricKind;
  readonly id: SeriesIdentity;
  /** The aggregator's map key (name + tags key). */
  readonly key: string;
  lastSeenMs: number;
  /** Set once the series expired and left the aggregator. */
  dead: boolean;
  /** Counter sum or gauge value. */
  value: number;
  /** Timer values of the current interval (timers only). */
  values: number[];
  /** Sum of 1/rate of the current interval (timers only). */
  sampled: number;
  /** Distinct members of the current interval (sets only). */
  members: Set<string>;
  /**
   * The series' snapshot entry, created at its first flush and refreshed in place at
   * every flush, so a flush allocates no per-series objects.
   */
  point: unknown;
}

const NO_VALUES: number[] = [];
const NO_MEMBERS = new Set<string>();

/** Creates an empty accumulator of a kind. */
export function newAccumulator(kind: MetricKind, id: SeriesIdentity, nowMs: number, key = ''): Accumulator {
  return {
    kind,
    id,
    key,
    lastSeenMs: nowMs,
    dead: false,
    value: 0,
    values: kind === 'timer' ? [] : NO_VALUES,
    sampled: 0,
    members: kind === 'set' ? new Set() : NO_MEMBERS,
    point: undefined,
  };
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
      acc.value += Math.trunc(value / rate) + 0;
      return;
    case 'gauge':
      acc.value = value;
      return;
    case 'timer':
      acc.values.push(value);
      acc.sampled += 1 / rate;
      return;
    case 'set':
      acc.members.add(member);
      return;
  }
}
