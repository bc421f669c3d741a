import { expect } from 'chai';
import { mergeSnapshots } from '../../../src/aggregator/merge.js';
import { computeTimerStats } from '../../../src/aggregator/timer-stats.js';
import type { TimerPoint } from '../../../src/aggregator/snapshot.js';
import { RawBatch } from '../../../src/backends/forwarder/raw-batch.js';
import { decodeRawMessage, encodeRawMessage } from '../../../src/wire/gostatsd.js';
import { makePipeline, send, plainSnapshot } from '../../support/pipeline.js';

const NONE = { count: false, mean: false, sum: false, sumSquares: false, lower: false, upper: false };

/** Values as Envoy sends them for one route: a long tail. */
function latency(i: number): number {
  return Math.round((5 + ((i * 7919) % 1000) ** 1.7 / 100) * 1000) / 1000;
}

function timer(points: readonly TimerPoint[], name: string): TimerPoint {
  return points.find((t) => t.name === name)!;
}

describe('timer-exact-values: timers past the limit fold into a histogram (the receive path)', () => {
  it('below the limit every statistic is the exact one; past it counts, sums and extremes stay exact and memory is bounded', () => {
    const limited = makePipeline({ timerExactValues: 100, timerMaxBuckets: 160 });
    const exact = makePipeline();
    const small = Array.from({ length: 100 }, (_, i) => `small:${latency(i)}|ms`);
    const big = Array.from({ length: 20_000 }, (_, i) => `big:${latency(i)}|ms|@0.5`);
    for (const p of [limited, exact]) {
      // Exactly the limit for one series, far past it for the other, interleaved.
      for (let k = 0; k < big.length; k += 50)
        send(
          p.ingester,
          [...small.slice(k / 200, k / 200 + (k % 200 === 0 ? 1 : 0)), ...big.slice(k, k + 50)].join('\n'),
        );
    }
    const series = limited.aggregator.resolve(
      { kind: 'timer', name: 'big', tags: [], host: '10.0.0.5', tagsKey: ',s:10.0.0.5' },
      0,
    ) as unknown as {
      values: number[];
      folded: unknown;
    };
    expect(series.values).to.deep.equal([]); // the exact values are let go once folded
    expect(series.folded).not.to.equal(undefined);
    const a = limited.aggregator.snapshotAndReset(limited.clock.now(), 10);
    const b = exact.aggregator.snapshotAndReset(exact.clock.now(), 10);
    // Below the limit: identical to a daemon without one, field by field.
    expect(plainSnapshot({ ...a, timers: [timer(a.timers, 'small')] })).to.deep.equal(
      plainSnapshot({ ...b, timers: [timer(b.timers, 'small')] }),
    );
    const t = timer(a.timers, 'big');
    const e = timer(b.timers, 'big');
    expect(t.histogram).not.to.equal(undefined);
    expect([t.count, t.sampledCount, t.min, t.max]).to.deep.equal([e.count, e.sampledCount, e.min, e.max]);
    expect(Math.abs(t.sum - e.sum) / e.sum).to.be.below(1e-12);
    expect(Math.abs(t.sumSquares - e.sumSquares) / e.sumSquares).to.be.below(1e-12);
    const rel = t.histogram!.relativeError;
    expect(Math.abs(t.median - e.median) / e.median).to.be.at.most(rel);
    for (const [i, p] of t.percentiles.entries()) {
      const x = e.percentiles[i]!;
      expect([p.stat, p.threshold]).to.deep.equal([x.stat, x.threshold]);
      expect(Math.abs(p.value - x.value) / Math.abs(x.value), `${p.stat}_${p.threshold}`).to.be.at.most(rel);
    }
    // Backends that want values get as many representatives as the limit, sorted, ends exact.
    expect(t.values.length).to.equal(100);
    expect(t.values[0]).to.equal(e.min);
    expect(t.values[99]).to.equal(e.max);
    // The next interval starts exact again.
    send(limited.ingester, 'big:1|ms');
    const next = timer(limited.aggregator.snapshotAndReset(limited.clock.now(), 10).timers, 'big');
    expect([next.histogram, [...next.values]]).to.deep.equal([undefined, [1]]);
  });

  it('coalesced intervals merge histograms bucket-wise: the same as one interval with all the values', () => {
    const p = makePipeline({ timerExactValues: 50 });
    const whole = makePipeline({ timerExactValues: 50 });
    const lines = Array.from({ length: 3000 }, (_, i) => `t:${latency(i)}|ms`);
    send(p.ingester, lines.slice(0, 1000).join('\n'));
    const first = p.aggregator.snapshotAndReset(p.clock.now(), 10);
    // A copy that outlives the next cut (the snapshot's entries are refreshed in place).
    const older = {
      ...first,
      timers: first.timers.map((t) => ({
        name: t.name,
        tags: t.tags,
        host: t.host,
        tagsKey: t.tagsKey,
        min: t.min,
        max: t.max,
        count: t.count,
        perSecond: t.perSecond,
        mean: t.mean,
        median: t.median,
        stdDev: t.stdDev,
        sum: t.sum,
        sumSquares: t.sumSquares,
        percentiles: t.percentiles.map((x) => ({ ...x })),
        sampledCount: t.sampledCount,
        values: [...t.values],
        histogram: t.histogram,
      })),
    };
    send(p.ingester, lines.slice(1000, 1030).join('\n')); // the second interval stays exact
    const merged = mergeSnapshots(older, p.aggregator.snapshotAndReset(p.clock.now(), 10));
    send(whole.ingester, lines.slice(0, 1030).join('\n'));
    const w = timer(whole.aggregator.snapshotAndReset(whole.clock.now(), 20).timers, 't');
    const m = timer(merged.timers, 't');
    expect([m.count, m.min, m.max]).to.deep.equal([w.count, w.min, w.max]);
    expect(Math.abs(m.sum - w.sum)).to.be.below(1e-6);
    const exact = computeTimerStats(
      Float64Array.from(lines.slice(0, 1030).map((l) => Number(l.slice(2, -3)))).sort(),
      [90],
      NONE,
    );
    const upper = m.percentiles.find((x) => x.stat === 'upper')!.value;
    expect(Math.abs(upper - exact.percentiles.find((x) => x.stat === 'upper')!.value) / upper).to.be.at.most(
      m.histogram!.relativeError,
    );
  });

  it('a forwarder sends the histogram (RawTimerV2 field 100) and the tier merges it bucket-wise', () => {
    const sidecar = makePipeline({ timerExactValues: 100 });
    const tier = makePipeline();
    const lines = Array.from({ length: 5000 }, (_, i) => `fwd:${latency(i)}|ms|@0.5`);
    send(sidecar.ingester, lines.join('\n'));
    send(tier.ingester, 'fwd:3|ms'); // the tier's own exact value joins the histogram
    const batch = new RawBatch();
    batch.addSnapshot(sidecar.aggregator.snapshotAndReset(sidecar.clock.now(), 10), 1 << 30);
    const wire = decodeRawMessage(encodeRawMessage(batch.toMessage()));
    const raw = Object.values(wire.Timers['fwd']!.TagMap)[0]!;
    expect(raw.Values).to.have.length(100);
    expect(raw.Histogram!.Count).to.equal(5000);
    expect(tier.ingester.ingestForwarded(wire)).to.equal(1);
    const t = timer(tier.aggregator.snapshotAndReset(tier.clock.now(), 10).timers, 'fwd');
    const all = [...lines.map((l) => Number(l.slice(4, l.indexOf('|')))), 3];
    const exact = computeTimerStats(Float64Array.from(all).sort(), [90], NONE);
    expect(t.count).to.equal(Math.floor(5000 * 2 + 1 + 0.5));
    expect([t.min, t.max]).to.deep.equal([exact.min, exact.max]);
    expect(Math.abs(t.sum - exact.sum) / exact.sum).to.be.below(1e-9);
    const upper = t.percentiles.find((x) => x.stat === 'upper')!.value;
    const want = exact.percentiles.find((x) => x.stat === 'upper')!.value;
    expect(Math.abs(upper - want) / want).to.be.at.most(t.histogram!.relativeError);
  });

  it('a forwarded histogram that does not add up is skipped and counted, the rest of the message merged', () => {
    const tier = makePipeline();
    const h = {
      Scale: 3,
      ZeroCount: 0,
      PositiveOffset: 10,
      PositiveCounts: [5, 5],
      NegativeOffset: 0,
      NegativeCounts: [],
      Count: 11, // the buckets hold 10
      Sum: 30,
      SumSquares: 90,
      Min: 2,
      Max: 4,
      PositiveInfinities: 0,
      NegativeInfinities: 0,
      MaxBuckets: 160,
      ExactLimit: 100,
    };
    const merged = tier.ingester.ingestForwarded({
      Counters: { ok: { TagMap: { '': { Tags: [], Hostname: '', Value: 2 } } } },
      Gauges: {},
      Sets: {},
      Timers: { bad: { TagMap: { '': { Tags: [], Hostname: '', SampleCount: 11, Values: [3], Histogram: h } } } },
    });
    expect(merged).to.equal(1);
    expect(tier.stats.forwardedRejected.invalid_value).to.equal(1);
  });
});
