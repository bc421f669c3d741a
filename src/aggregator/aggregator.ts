import type { MetricKind } from '../parser/sample.js';
import type { FlushSnapshot, SeriesIdentity } from './snapshot.js';

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
 * `record` is O(1) amortised and never throws. `snapshotAndReset` returns a snapshot the
 * caller owns, then resets values and expires idle series (gostatsd §7) in the same step.
 */
export interface Aggregator {
  record(sample: SeriesSample, nowMs: number): void;
  snapshotAndReset(nowMs: number, intervalSeconds: number): FlushSnapshot;
  /** Live series per kind. */
  seriesCount(): Record<MetricKind, number>;
}
