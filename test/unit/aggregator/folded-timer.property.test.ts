import { expect } from 'chai';
import fc from 'fast-check';
import { FoldedTimer } from '../../../src/aggregator/folded-timer.js';
import { computeTimerStats, newTimerStats } from '../../../src/aggregator/timer-stats.js';

const NONE = { count: false, mean: false, sum: false, sumSquares: false, lower: false, upper: false };
const THRESHOLDS = [90, 99, 50, -10];

/** Timer values as services send them: milliseconds over several decades, zeros and negatives now and then. */
const values = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: fc.double({ min: 0.01, max: 60_000, noNaN: true }) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.double({ min: -500, max: -0.01, noNaN: true }) },
  ),
  { minLength: 2, maxLength: 3000 },
);

/** |a − b| within `rel` of |b|, or both tiny. */
function near(a: number, b: number, rel: number, what: string): void {
  expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).to.be.at.most(rel * Math.abs(b) + 1e-9);
}

describe('FoldedTimer: a timer past timer-exact-values, checked against the exact statistics', () => {
  it('count, sum, sum of squares, min, max and percentile counts are exact; order statistics within the relative error', () => {
    fc.assert(
      fc.property(values, fc.integer({ min: 8, max: 160 }), (vs, maxBuckets) => {
        const f = new FoldedTimer(maxBuckets);
        for (const v of vs) f.add(v);
        const sorted = Float64Array.from(vs).sort();
        const exact = computeTimerStats(sorted, THRESHOLDS, NONE);
        const got = f.stats(THRESHOLDS, NONE, newTimerStats());
        const rel = f.relativeError;
        expect(f.count).to.equal(vs.length);
        expect(got.min).to.equal(exact.min);
        expect(got.max).to.equal(exact.max);
        near(got.sum, exact.sum, 1e-9, 'sum');
        near(got.sumSquares, exact.sumSquares, 1e-9, 'sum_squares');
        near(got.mean, exact.mean, 1e-9, 'mean');
        // The median of an even count averages two values, each read within rel.
        const half = sorted.length >> 1;
        const around =
          sorted.length % 2 === 1
            ? Math.abs(sorted[half]!)
            : (Math.abs(sorted[half - 1]!) + Math.abs(sorted[half]!)) / 2;
        expect(Math.abs(got.median - exact.median), 'median').to.be.at.most(rel * around + 1e-12);
        expect(got.percentiles.map((p) => [p.stat, p.threshold])).to.deep.equal(
          exact.percentiles.map((p) => [p.stat, p.threshold]),
        );
        got.percentiles.forEach((p, i) => {
          const e = exact.percentiles[i]!;
          const what = `${p.stat}_${p.threshold}`;
          if (p.stat === 'count') return void expect(p.value, what).to.equal(e.value);
          if (p.stat === 'upper' || p.stat === 'lower') return near(p.value, e.value, rel, what);
          // A group's values are each read within rel: its sums are within rel of the sum of their magnitudes.
          const k = exact.percentiles.find((x) => x.threshold === p.threshold && x.stat === 'count')!.value;
          const group = p.threshold > 0 ? sorted.subarray(0, k) : sorted.subarray(sorted.length - k);
          const abs = group.reduce((a, v) => a + Math.abs(v), 0);
          const sq = group.reduce((a, v) => a + v * v, 0);
          const bound = p.stat === 'sum' ? rel * abs : p.stat === 'mean' ? (rel * abs) / k : (2 * rel + rel * rel) * sq;
          expect(Math.abs(p.value - e.value), `${what}: ${p.value} vs ${e.value}`).to.be.at.most(bound + 1e-9);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('at 160 buckets, a million values over five decades are read within 4.4 % (scale 3)', () => {
    const f = new FoldedTimer(160);
    for (let i = 1; i <= 1_000_000; i++) f.add((i % 100_000) * 0.37 + 0.37);
    expect(f.scale).to.be.at.least(3);
    expect(f.relativeError).to.be.below(0.044);
  });

  it('merges bucket-wise: two halves merged give the statistics of the whole', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const whole = new FoldedTimer(160);
        const left = new FoldedTimer(160);
        const right = new FoldedTimer(160);
        for (const v of a) (whole.add(v), left.add(v));
        for (const v of b) (whole.add(v), right.add(v));
        left.merge(right);
        const w = whole.stats(THRESHOLDS, NONE, newTimerStats());
        const m = left.stats(THRESHOLDS, NONE, newTimerStats());
        expect(left.count).to.equal(whole.count);
        expect([m.min, m.max]).to.deep.equal([w.min, w.max]);
        near(m.sum, w.sum, 1e-9, 'sum');
        // The merged histogram reads the exact median within its own error.
        const all = Float64Array.from([...a, ...b]).sort();
        const half = all.length >> 1;
        const exactMedian = all.length % 2 === 1 ? all[half]! : (all[half - 1]! + all[half]!) / 2;
        const around =
          all.length % 2 === 1 ? Math.abs(all[half]!) : (Math.abs(all[half - 1]!) + Math.abs(all[half]!)) / 2;
        expect(Math.abs(m.median - exactMedian), 'median').to.be.at.most(left.relativeError * around + 1e-12);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps infinite values apart and exact at the ends; representatives are sorted and end at min and max', () => {
    const f = new FoldedTimer(160);
    for (const v of [5, Infinity, 7, -Infinity, 9, 11]) f.add(v);
    const r = f.representatives(4);
    expect([...r]).to.have.length(4);
    expect(r[0]).to.equal(-Infinity);
    expect(r[3]).to.equal(Infinity);
    expect([...r].every((v, i) => i === 0 || v >= r[i - 1]!)).to.equal(true);
    expect(f.stats([90], NONE, newTimerStats()).max).to.equal(Infinity);
  });
});

describe('FoldedTimer.fromWire: a forwarded histogram is taken only when its parts agree', () => {
  const good = {
    Scale: 3,
    ZeroCount: 1,
    PositiveOffset: 10,
    PositiveCounts: [2, 0, 3],
    NegativeOffset: 4,
    NegativeCounts: [1],
    Count: 8,
    Sum: 20,
    SumSquares: 80,
    Min: -2,
    Max: 3,
    PositiveInfinities: 0,
    NegativeInfinities: 1,
    MaxBuckets: 160,
    ExactLimit: 100,
  };

  it('round-trips: toWire of what fromWire read has the same counts and exact parts', () => {
    const f = FoldedTimer.fromWire(good)!;
    const w = f.toWire();
    expect([w.Count, w.Sum, w.SumSquares, w.Min, w.Max, w.ZeroCount, w.NegativeInfinities]).to.deep.equal([
      8, 20, 80, -2, 3, 1, 1,
    ]);
    expect(w.PositiveCounts.reduce((a, b) => a + b, 0)).to.equal(5);
    expect(w.NegativeCounts.reduce((a, b) => a + b, 0)).to.equal(1);
    expect(f.exactLimit).to.equal(100);
  });

  for (const [what, bad] of [
    ['counts that do not add up to Count', { Count: 9 }],
    ['a negative count', { PositiveCounts: [2, -1, 4] }],
    ['a fractional count', { PositiveCounts: [2, 0.5, 2.5] }],
    ['a scale out of range', { Scale: 99 }],
    ['an offset whose buckets overflow a double', { PositiveOffset: 2 ** 30 }],
    ['an offset whose buckets underflow to 0', { NegativeOffset: -(2 ** 30) }],
    ['a NaN sum', { Sum: NaN }],
    ['min above max', { Min: 5 }],
    ['too many buckets', { PositiveCounts: new Array<number>(20_000).fill(0), Count: 3 }],
  ] as const) {
    it(`refuses ${what}`, () => {
      expect(FoldedTimer.fromWire({ ...good, ...bad } as typeof good)).to.equal(undefined);
    });
  }

  it('never throws on any record', () => {
    const num = fc.oneof(fc.double(), fc.integer({ min: -(2 ** 31), max: 2 ** 31 }));
    fc.assert(
      fc.property(
        fc.record({
          Scale: num,
          ZeroCount: num,
          PositiveOffset: num,
          PositiveCounts: fc.array(num, { maxLength: 20 }),
          NegativeOffset: num,
          NegativeCounts: fc.array(num, { maxLength: 20 }),
          Count: num,
          Sum: num,
          SumSquares: num,
          Min: num,
          Max: num,
          PositiveInfinities: num,
          NegativeInfinities: num,
          MaxBuckets: fc.nat(),
          ExactLimit: fc.nat(),
        }),
        (w) => {
          const f = FoldedTimer.fromWire(w);
          if (f !== undefined) f.stats([90], NONE, newTimerStats());
        },
      ),
      { numRuns: 2000 },
    );
  });
});
