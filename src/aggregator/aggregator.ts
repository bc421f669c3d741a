import type { MetricKind } from '../parser/sample.js';
import type { Accumulator } from './accumulators.js';
import type { FlushSnapshot, SeriesIdentity, StatsConfig } from './snapshot.js';
import type { IntervalCut } from './interval-cut.js';

/** One sample after host and tag processing, ready to be aggregated. */
export interface SeriesSample extends SeriesIdentity {
  readonly kind: MetricKind;
  readonly value: number;
  readonly member: string;
  readonly rate: number;
}

/**
 * Aggregator accumulates samples between flushes.
 *
 * `record` is O(1) amortised and never throws; it returns the series' accumulator so a
 * caller may cache it and apply later samples with `applySample` (checking `dead`).
 * `cut` ends the interval: it takes every series' interval data and resets and expires
 * the series (gostatsd §7) in one synchronous, cheap pass; the expensive statistics are
 * computed from the cut afterwards, possibly in chunks, while new samples keep arriving.
 */
export interface Aggregator {
  /** The series' accumulator, or undefined when a new series would pass the series cap (dropped and counted). */
  record(sample: SeriesSample, nowMs: number): Accumulator | undefined;
  /** Ends the interval; `fresh`: write into new arrays, leaving the previous cut and snapshot intact. */
  cut(nowMs: number, fresh?: boolean): IntervalCut;
  /** The settings the statistics of a cut depend on (read at every flush). */
  readonly statsConfig: StatsConfig;
  /** `cut` and the statistics in one synchronous step (tests, tools). */
  snapshotAndReset(nowMs: number, intervalSeconds: number): FlushSnapshot;
  /** Live series per kind. */
  seriesCount(): Record<MetricKind, number>;
  /** Live series of all types (O(1)). */
  readonly liveSeries: number;
  /** Samples dropped by the series cap so far. */
  readonly seriesDropped: number;
}
