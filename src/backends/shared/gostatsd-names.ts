import type { PercentileStat, TimerPercentile, TimerPoint } from '../../aggregator/snapshot.js';

/**
 * The `P` of a gostatsd percentile name such as `count_P`: the threshold truncated toward
 * zero, as the reference writes it (`99.9` → `99`, `-0.5` → `0`, `-10.7` → `-10`).
 */
export function percentileLabel(threshold: number): string {
  const t = Math.trunc(threshold);
  return String(t === 0 ? 0 : t);
}

const NAMES = new Map<number, Record<PercentileStat, string>>();

/**
 * The gostatsd name of a percentile statistic (`count_90`, `upper_99`, `lower_-10`),
 * used by the backends that keep the reference's names (SepAgent, stdout). Built once per
 * threshold.
 */
export function gostatsdPercentileName(p: TimerPercentile): string {
  let n = NAMES.get(p.threshold);
  if (n === undefined) {
    const l = percentileLabel(p.threshold);
    n = {
      count: `count_${l}`,
      mean: `mean_${l}`,
      sum: `sum_${l}`,
      sum_squares: `sum_squares_${l}`,
      upper: `upper_${l}`,
      lower: `lower_${l}`,
    };
    if (NAMES.size < 1000) NAMES.set(p.threshold, n);
  }
  return n[p.stat];
}

/** gostatsd's nine timer sub-metrics, in the reference's order: the name and where its value is. */
export const TIMER_SUB_METRICS: ReadonlyArray<readonly [string, (t: TimerPoint) => number]> = [
  ['lower', (t) => t.min],
  ['upper', (t) => t.max],
  ['count', (t) => t.count],
  ['count_ps', (t) => t.perSecond],
  ['mean', (t) => t.mean],
  ['median', (t) => t.median],
  ['std', (t) => t.stdDev],
  ['sum', (t) => t.sum],
  ['sum_squares', (t) => t.sumSquares],
];
