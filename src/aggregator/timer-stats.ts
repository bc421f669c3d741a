import type { DisabledPercentiles, PercentileStat, TimerPercentile } from './snapshot.js';

export type { DisabledPercentiles } from './snapshot.js';

/** Statistics of one timer's interval, computed exactly as gostatsd does (docs/semantics.md#flush). */
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
// Running sums, reused across timers: a flush allocates nothing per timer for them.
let scratchCum = new Float64Array(1024);
let scratchCumSq = new Float64Array(1024);

/** {@link TimerStats} that {@link computeTimerStats} may write into, percentile entries included. */
export interface TimerStatsOut extends TimerStats {
  percentiles: PercentileSlot[];
}

/** A percentile entry that {@link computeTimerStats} writes into (and reuses). */
export interface PercentileSlot {
  stat: PercentileStat;
  threshold: number;
  value: number;
}

/** A {@link TimerStatsOut} to pass to {@link computeTimerStats} again and again. */
export function newTimerStats(): TimerStatsOut {
  return { min: 0, max: 0, mean: 0, median: 0, stdDev: 0, sum: 0, sumSquares: 0, percentiles: [] };
}

/** Sets percentile entry `i` of `list`, reusing the entry object there; returns `i + 1`. */
function putPercentile(
  list: PercentileSlot[],
  i: number,
  stat: PercentileStat,
  threshold: number,
  value: number,
): number {
  const e = list[i];
  if (e === undefined) list.push({ stat, threshold, value });
  else {
    e.stat = stat;
    e.threshold = threshold;
    e.value = value;
  }
  return i + 1;
}

/**
 * Writes one threshold's entries into `list` from index `used`: `count`, `mean`, `sum`,
 * `sum_squares`, then `upper` (a positive threshold) or `lower`, each unless disabled.
 * Returns the next index.
 */
export function putThreshold(
  list: PercentileSlot[],
  used: number,
  p: number,
  k: number,
  pSum: number,
  pSumSq: number,
  boundary: number,
  disabled: DisabledPercentiles,
): number {
  if (!disabled.count) used = putPercentile(list, used, 'count', p, k);
  if (!disabled.mean) used = putPercentile(list, used, 'mean', p, pSum / k);
  if (!disabled.sum) used = putPercentile(list, used, 'sum', p, pSum);
  if (!disabled.sumSquares) used = putPercentile(list, used, 'sum_squares', p, pSumSq);
  if (p > 0 ? !disabled.upper : !disabled.lower)
    used = putPercentile(list, used, p > 0 ? 'upper' : 'lower', p, boundary);
  return used;
}

/**
 * Computes min/max/mean/median/std/sum/sum_squares and the percentile entries of sorted
 * values (`values[start .. end)`, all of `values` by default). The evaluation order of the
 * running sums matches the reference so that the doubles are bit-identical. The values
 * MUST be ascending and non-empty.
 *
 * With `out`, the result is written into it and its `percentiles` array (and the entry
 * objects in it) are reused, trimmed to the new count: a flush allocates nothing per timer.
 */
export function computeTimerStats(
  values: ArrayLike<number>,
  thresholds: readonly number[],
  disabled: DisabledPercentiles,
  out?: TimerStatsOut,
  start = 0,
  end = values.length,
): TimerStats {
  const n = end - start;
  if (scratchCum.length < n) {
    scratchCum = new Float64Array(Math.max(n, scratchCum.length * 2));
    scratchCumSq = new Float64Array(scratchCum.length);
  }
  const cum = scratchCum;
  const cumSq = scratchCumSq;
  let acc = 0;
  let accSq = 0;
  for (let i = 0; i < n; i++) {
    const v = values[start + i]!;
    acc = i === 0 ? v : v + acc;
    accSq = i === 0 ? v * v : v * v + accSq;
    cum[i] = acc;
    cumSq[i] = accSq;
  }
  const min = values[start]!;
  const max = values[start + n - 1]!;
  const sum = cum[n - 1]!;
  const sumSquares = cumSq[n - 1]!;
  const mean = sum / n;
  let diffs = 0;
  for (let i = 0; i < n; i++) {
    const d = values[start + i]! - mean;
    diffs += d * d;
  }
  const stdDev = Math.sqrt(diffs / n);
  const half = n >> 1;
  const median = n % 2 === 1 ? values[start + half]! : (values[start + half - 1]! + values[start + half]!) / 2;

  const percentiles: PercentileSlot[] =
    thresholds.length === 0 && out === undefined ? (EMPTY as PercentileSlot[]) : (out?.percentiles ?? []);
  let used = 0;
  for (const p of thresholds) {
    let k: number;
    let boundary: number;
    let pSum: number;
    let pSumSq: number;
    if (n === 1) {
      k = 1;
      boundary = max;
      pSum = values[start]!;
      pSumSq = values[start]! * values[start]!;
    } else {
      k = Math.floor((Math.abs(p) / 100) * n + 0.5);
      if (k === 0) continue;
      if (k > n) k = n; // thresholds are validated to |p| <= 100; this only guards rounding
      if (p > 0) {
        boundary = values[start + k - 1]!;
        pSum = cum[k - 1]!;
        pSumSq = cumSq[k - 1]!;
      } else {
        boundary = values[start + n - k]!;
        // When k == n the reference indexes cum[-1] and panics; the top n values are all of them.
        pSum = k === n ? sum : sum - cum[n - k - 1]!;
        pSumSq = k === n ? sumSquares : sumSquares - cumSq[n - k - 1]!;
      }
    }
    used = putThreshold(percentiles, used, p, k, pSum, pSumSq, boundary, disabled);
  }
  if (percentiles.length > used) percentiles.length = used;
  if (out === undefined) return { min, max, mean, median, stdDev, sum, sumSquares, percentiles };
  out.min = min;
  out.max = max;
  out.mean = mean;
  out.median = median;
  out.stdDev = stdDev;
  out.sum = sum;
  out.sumSquares = sumSquares;
  return out;
}
