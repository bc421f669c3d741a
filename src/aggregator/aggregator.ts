import type { MetricKind } from '../parser/sample.js';
import type { FlushSnapshot, SeriesIdentity, StatsConfig } from './snapshot.js';
import type { IntervalCut } from './interval-cut.js';
import type { FoldedTimer } from './folded-timer.js';

/** One sample after host and tag processing, ready to be aggregated. */
export interface SeriesSample extends SeriesIdentity {
  readonly kind: MetricKind;
  readonly value: number;
  readonly member: string;
  readonly rate: number;
}

/**
 * A series the aggregator recorded, for a caller that applies later samples of it
 * directly ({@link Aggregator.applyTo}, the ingest fast path). Once `dead` (the series
 * expired), it must be resolved again with `record`.
 */
export interface SeriesRef {
  readonly kind: MetricKind;
  readonly name: string;
  readonly dead: boolean;
}

/**
 * Aggregator accumulates samples between flushes.
 *
 * `record` is O(1) amortised and never throws; it returns a reference to the series so a
 * caller may keep it and apply later samples with `applyTo` (checking `dead`).
 * `cut` ends the interval: it takes every series' interval data and resets and expires
 * the series (docs/semantics.md#reset-and-expiry) in one synchronous, cheap pass; the expensive statistics are
 * computed from the cut afterwards, possibly in chunks, while new samples keep arriving.
 */
export interface Aggregator {
  /** The series, or undefined when a new series would pass the series cap (dropped and counted). */
  record(sample: SeriesSample, nowMs: number): SeriesRef | undefined;
  /**
   * The series of a kind and identity, created if new; undefined when a new series would
   * pass the series cap (counted). Nothing is applied to it.
   */
  resolve(series: SeriesIdentity & { readonly kind: MetricKind }, nowMs: number): SeriesRef | undefined;
  /**
   * Merges a forwarded timer interval into a live timer series: appends `values[from, to)`
   * (all of them by default), adds `sampledCount`.
   */
  mergeTimer(
    ref: SeriesRef,
    values: ArrayLike<number>,
    sampledCount: number,
    nowMs: number,
    from?: number,
    to?: number,
  ): void;
  /**
   * Remembers the name a client wrote for a series whose normalised name is `name`
   * (FlushSnapshot.rawNames); the first one is kept, and at most a bounded number.
   */
  noteRawName(name: string, raw: string): void;
  /** Adds `delta` to a live gauge series (`gauge-deltas = apply`); O(1). */
  adjustGauge(ref: SeriesRef, delta: number, nowMs: number): void;
  /** Merges a forwarded timer interval folded into a histogram (its Values are only representatives). */
  mergeTimerHistogram(ref: SeriesRef, folded: FoldedTimer, sampledCount: number, nowMs: number): void;
  /** Applies one more sample to a live series `record` returned (O(1), no look-up). */
  applyTo(ref: SeriesRef, value: number, member: string, rate: number, nowMs: number): void;
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
