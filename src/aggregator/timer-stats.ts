import type { TimerPercentile } from './snapshot.js';

/** Which percentile sub-metrics to leave out (`[disabled-sub-metrics]` `*-pct` keys). */
export interface DisabledPercentiles {
  count: boolean;
  mean: boolean;
  sum: boolean;
  sumSquares: boolean;
  /** `lower_P` (thresholds <= 0). */
  lower: boolean;
  /** `upper_P` (thresholds > 0). */
  upper: boolean;
}

/** Statistics of one timer's interval, computed exactly as gostatsd does (§6.2). */
export interface TimerStats {
  min: number;
  max: number;
  mean: number;
  median: number;
  stdDev: number;
  sum: number;
  sumSquares: number;
  percentiles: TimerPercentile[];
}

const EMPTY: readonly TimerPercentile[] = [];

/** The `P` of `count_P`: the threshold truncated toward zero (`99.9` → `99`, `-0.5` → `0`). */
export function percentileLabel(threshold: number): string {
  const t = Math.trunc(threshold);
  return String(t === 0 ? 0 : t);
}

/**
 * Computes min/max/mean/median/std/sum/sum_squares and the percentile entries of sorted
 * values. The evaluation order of the running sums matches the reference so that the
 * doubles are bit-identical. `sorted` MUST be ascending and non-empty.
 */
export function computeTimerStats(
  sorted: Float64Array,
  thresholds: readonly number[],
  disabled: DisabledPercentiles,
): TimerStats {
  const n = sorted.length;
  const cum = new Float64Array(n);
  const cumSq = new Float64Array(n);
  let acc = 0;
  let accSq = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    acc = i === 0 ? v : v + acc;
    accSq = i === 0 ? v * v : v * v + accSq;
    cum[i] = acc;
    cumSq[i] = accSq;
  }
  const min = sorted[0]!;
  const max = sorted[n - 1]!;
  const sum = cum[n - 1]!;
  const sumSquares = cumSq[n - 1]!;
  const mean = sum / n;
  let diffs = 0;
  for (let i = 0; i < n; i++) {
    const d = sorted[i]! - mean;
    diffs += d * d;
  }
  const stdDev = Math.sqrt(diffs / n);
  const half = n >> 1;
  const median = n % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;

  const percentiles: TimerPercentile[] = thresholds.length === 0 ? (EMPTY as TimerPercentile[]) : [];
  for (const p of thresholds) {
    let k: number;
    let boundary: number;
    let pSum: number;
    let pSumSq: number;
    if (n === 1) {
      k = 1;
      boundary = max;
      pSum = sorted[0]!;
      pSumSq = sorted[0]! * sorted[0]!;
    } else {
      k = Math.floor((Math.abs(p) / 100) * n + 0.5);
      if (k === 0) continue;
      if (k > n) k = n; // thresholds are validated to |p| <= 100; this only guards rounding
      if (p > 0) {
        boundary = sorted[k - 1]!;
        pSum = cum[k - 1]!;
        pSumSq = cumSq[k - 1]!;
      } else {
        boundary = sorted[n - k]!;
        // When k == n the reference indexes cum[-1] and panics; the top n values are all of them.
        pSum = k === n ? sum : sum - cum[n - k - 1]!;
        pSumSq = k === n ? sumSquares : sumSquares - cumSq[n - k - 1]!;
      }
    }
    const label = percentileLabel(p);
    if (!disabled.count) percentiles.push({ name: `count_${label}`, value: k });
    if (!disabled.mean) percentiles.push({ name: `mean_${label}`, value: pSum / k });
    if (!disabled.sum) percentiles.push({ name: `sum_${label}`, value: pSum });
    if (!disabled.sumSquares) percentiles.push({ name: `sum_squares_${label}`, value: pSumSq });
    if (p > 0) {
      if (!disabled.upper) percentiles.push({ name: `upper_${label}`, value: boundary });
    } else if (!disabled.lower) {
      percentiles.push({ name: `lower_${label}`, value: boundary });
    }
  }
  return { min, max, mean, median, stdDev, sum, sumSquares, percentiles };
}
