import { expect } from 'chai';
import { computeSnapshot } from '../../../src/aggregator/interval-cut.js';
import { runChunked, runToEnd } from '../../../src/shared/cooperative.js';
import { computeTimerStats, newTimerStats } from '../../../src/aggregator/timer-stats.js';
import { makePipeline, plainSnapshot, send } from '../../support/pipeline.js';

const NONE = { count: false, mean: false, sum: false, sumSquares: false, lower: false, upper: false };

describe('interval cut and chunked statistics', () => {
  it('the chunked computation gives the same snapshot as the synchronous one', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `s${i % 1500}:${i}|${['c', 'g', 'ms', 's'][i % 4]}`);
    const a = makePipeline();
    const b = makePipeline();
    send(a.ingester, lines.join('\n'));
    send(b.ingester, lines.join('\n'));
    const sync = a.aggregator.snapshotAndReset(1000, 1);
    const chunked = await runChunked(
      computeSnapshot(b.aggregator.cut(1000), 1, b.aggregator.statsConfig),
      undefined,
      0,
    );
    expect(plainSnapshot(chunked)).to.deep.equal(plainSnapshot(sync));
  });

  it('samples recorded while a cut is being computed belong to the next interval', async () => {
    const { ingester, aggregator } = makePipeline();
    send(ingester, 'c:1|c\nt:5|ms');
    const gen = computeSnapshot(aggregator.cut(1000), 1, aggregator.statsConfig);
    send(ingester, 'c:10|c\nt:7|ms');
    const first = runToEnd(gen);
    expect(first.counters[0]!.value).to.equal(1);
    expect([...first.timers[0]!.values]).to.deep.equal([5]);
    const second = aggregator.snapshotAndReset(2000, 1);
    expect(second.counters[0]!.value).to.equal(10);
    expect([...second.timers[0]!.values]).to.deep.equal([7]);
  });

  it('stops an abandoned computation once its signal aborts, and the next interval is whole', async () => {
    const { ingester, aggregator } = makePipeline();
    const N = 5000;
    send(ingester, Array.from({ length: N }, (_, i) => `c${i}:1|c`).join('\n'));
    const gen = computeSnapshot(aggregator.cut(1000), 1, aggregator.statsConfig);
    let steps = 0;
    const counted: typeof gen = {
      ...gen,
      next: (...a) => {
        steps++;
        return gen.next(...a);
      },
      return: (v) => gen.return(v),
      throw: (e) => gen.throw(e),
      [Symbol.iterator]() {
        return this;
      },
    };
    const ac = new AbortController();
    setImmediate(() => ac.abort(new Error('deadline'))); // after the first slice
    const err = await runChunked(counted, ac.signal, 0).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('deadline');
    expect(steps)
      .to.be.greaterThan(0)
      .and.lessThan(N / 512); // it started and did not finish
    send(ingester, 'c0:2|c');
    const next = aggregator.snapshotAndReset(2000, 1);
    expect(next.counters).to.have.length(N);
    expect(next.counters.reduce((s, c) => s + c.value, 0)).to.equal(2); // the next interval: only c0:2
  });

  it('writes into the given result and reuses its percentile entries, trimmed to the new count', () => {
    const out = newTimerStats();
    const entries = out.percentiles;
    const one = computeTimerStats([1, 2, 3, 4], [90, 50], NONE, out);
    expect(one).to.equal(out);
    expect(out.percentiles).to.equal(entries);
    expect(entries).to.have.length(10);
    const first = entries[0];
    const two = computeTimerStats([2, 4, 6, 8], [90], NONE, out);
    expect(two).to.equal(out);
    expect(entries[0]).to.equal(first);
    expect(entries.map((p) => [p.stat, p.threshold])).to.deep.equal([
      ['count', 90],
      ['mean', 90],
      ['sum', 90],
      ['sum_squares', 90],
      ['upper', 90],
    ]);
    expect([out.min, out.max, out.sum, out.median]).to.deep.equal([2, 8, 20, 5]);
    expect(two).to.deep.equal(computeTimerStats([2, 4, 6, 8], [90], NONE));
  });

  it('keeps a timer`s percentile entries through an interval without samples', () => {
    const { ingester, aggregator } = makePipeline();
    send(ingester, 't:1|ms\nt:2|ms');
    const first = aggregator.snapshotAndReset(1000, 1).timers[0]!;
    const entry = first.percentiles[0];
    expect(aggregator.snapshotAndReset(2000, 1).timers[0]!.percentiles).to.have.length(0);
    send(ingester, 't:5|ms');
    const third = aggregator.snapshotAndReset(3000, 1).timers[0]!;
    expect(third.percentiles[0]).to.equal(entry);
    expect(third.percentiles.map((p) => [p.stat, p.threshold, p.value])).to.deep.equal([
      ['count', 90, 1],
      ['mean', 90, 5],
      ['sum', 90, 5],
      ['sum_squares', 90, 25],
      ['upper', 90, 5],
    ]);
  });
});
