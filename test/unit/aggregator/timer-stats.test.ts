import { expect } from 'chai';
import { computeTimerStats, type DisabledPercentiles } from '../../../src/aggregator/timer-stats.js';
import { gostatsdPercentileName } from '../../../src/backends/shared/gostatsd-names.js';

const NONE: DisabledPercentiles = {
  count: false,
  mean: false,
  sum: false,
  sumSquares: false,
  lower: false,
  upper: false,
};
const sorted = (...v: number[]): Float64Array => Float64Array.from(v).sort();
const pct = (values: Float64Array, thresholds: number[], disabled = NONE): Record<string, number> =>
  Object.fromEntries(
    computeTimerStats(values, thresholds, disabled).percentiles.map((p) => [gostatsdPercentileName(p), p.value]),
  );

describe('computeTimerStats', () => {
  it('computes the worked example V = 1..10 with p90, p50 and p-10', () => {
    const v = sorted(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    const s = computeTimerStats(v, [90, 50, -10], NONE);
    expect(s).to.deep.include({ min: 1, max: 10, mean: 5.5, median: 5.5, sum: 55, sumSquares: 385 });
    expect(s.stdDev).to.equal(2.8722813232690143);
    expect(s.percentiles.map((p) => gostatsdPercentileName(p))).to.deep.equal([
      'count_90',
      'mean_90',
      'sum_90',
      'sum_squares_90',
      'upper_90',
      'count_50',
      'mean_50',
      'sum_50',
      'sum_squares_50',
      'upper_50',
      'count_-10',
      'mean_-10',
      'sum_-10',
      'sum_squares_-10',
      'lower_-10',
    ]);
    expect(pct(v, [90, 50, -10])).to.deep.equal({
      count_90: 9,
      mean_90: 5,
      sum_90: 45,
      sum_squares_90: 285,
      upper_90: 9,
      count_50: 5,
      mean_50: 3,
      sum_50: 15,
      sum_squares_50: 55,
      upper_50: 5,
      'count_-10': 1,
      'mean_-10': 10,
      'sum_-10': 10,
      'sum_squares_-10': 100,
      'lower_-10': 10,
    });
  });

  it('uses every value of a single-sample timer for every threshold, however small', () => {
    expect(pct(sorted(250), [90, 10, -10, 0])).to.deep.equal({
      count_90: 1,
      mean_90: 250,
      sum_90: 250,
      sum_squares_90: 62500,
      upper_90: 250,
      count_10: 1,
      mean_10: 250,
      sum_10: 250,
      sum_squares_10: 62500,
      upper_10: 250,
      'count_-10': 1,
      'mean_-10': 250,
      'sum_-10': 250,
      'sum_squares_-10': 62500,
      'lower_-10': 250,
      count_0: 1,
      mean_0: 250,
      sum_0: 250,
      sum_squares_0: 62500,
      lower_0: 250,
    });
  });

  it('handles two samples: p90 takes both (k = round(1.8) = 2), p10 none (k = round(0.2) = 0)', () => {
    const v = sorted(3, 1);
    const s = computeTimerStats(v, [90, 10], NONE);
    expect(s).to.deep.include({ min: 1, max: 3, mean: 2, median: 2, stdDev: 1, sum: 4, sumSquares: 10 });
    expect(pct(v, [90, 10])).to.deep.equal({ count_90: 2, mean_90: 2, sum_90: 4, sum_squares_90: 10, upper_90: 3 });
  });

  it('rounds half up: five values at p90 → k = round(4.5) = 5', () => {
    expect(pct(sorted(5, 7, 12, 30, 100), [90])['count_90']).to.equal(5);
  });

  it('a negative threshold covering every value (k = n) sums them all instead of crashing like the reference', () => {
    expect(pct(sorted(1, 2, 3), [-90])).to.deep.equal({
      'count_-90': 3,
      'mean_-90': 2,
      'sum_-90': 6,
      'sum_squares_-90': 14,
      'lower_-90': 1,
    });
  });

  it('keeps each threshold as the number configured (99.9 stays 99.9; names are the backends`)', () => {
    const s = computeTimerStats(sorted(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), [99.9, -50.5], NONE);
    expect(s.percentiles.map((p) => [p.stat, p.threshold])).to.deep.equal([
      ['count', 99.9],
      ['mean', 99.9],
      ['sum', 99.9],
      ['sum_squares', 99.9],
      ['upper', 99.9],
      ['count', -50.5],
      ['mean', -50.5],
      ['sum', -50.5],
      ['sum_squares', -50.5],
      ['lower', -50.5],
    ]);
  });

  it('leaves out the disabled percentile sub-metrics', () => {
    const v = sorted(1, 2, 3, 4);
    const disabled = { ...NONE, mean: true, sumSquares: true, upper: true };
    expect(Object.keys(pct(v, [50, -50], disabled))).to.deep.equal([
      'count_50',
      'sum_50',
      'count_-50',
      'sum_-50',
      'lower_-50',
    ]);
  });

  it('computes many samples consistently with a direct formula', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    const v = Float64Array.from(values).sort();
    const s = computeTimerStats(v, [99], NONE);
    expect(s.median).to.equal((v[499]! + v[500]!) / 2);
    expect(s.sum).to.equal(values.reduce((a, b) => a + b, 0));
    const p = pct(v, [99]);
    expect(p['count_99']).to.equal(990);
    expect(p['upper_99']).to.equal(v[989]);
  });
});
