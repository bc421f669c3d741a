import { expect } from 'chai';
import fc from 'fast-check';
import { computeSnapshot } from '../../../src/aggregator/interval-cut.js';
import { mergeSnapshots, mergeSnapshotsChunked } from '../../../src/aggregator/merge.js';
import { CHUNK_SERIES, runToEnd } from '../../../src/shared/cooperative.js';
import { makePipeline, plainSnapshot, send } from '../../support/pipeline.js';

const line = fc
  .tuple(
    fc.constantFrom('a', 'b', 'c'),
    fc.constantFrom('c', 'g', 'ms', 's'),
    fc.integer({ min: -50, max: 50 }),
    fc.constantFrom('', '|@0.5', '|@0.1'),
    fc.constantFrom('', '|#x:1', '|#x:2,y'),
  )
  .map(
    ([name, type, v, rate, tags]) =>
      `${name}.${type}:${type === 's' ? `m${v}` : v}|${type}${type === 'c' || type === 'ms' ? rate : ''}${tags}`,
  );

describe('mergeSnapshots', () => {
  it('two merged intervals say what one interval with all their samples says', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.array(line, { maxLength: 30 }), (one, two) => {
        const split = makePipeline({ percentThresholds: [90, -10, 50] });
        const whole = makePipeline({ percentThresholds: [90, -10, 50] });
        for (const l of one) send(split.ingester, l);
        const first = split.aggregator.snapshotAndReset(1000, 1);
        for (const l of two) send(split.ingester, l);
        // fresh: the first snapshot stays intact while the second is computed
        const second = runToEnd(computeSnapshot(split.aggregator.cut(2000, true), 2, split.aggregator.statsConfig));
        const merged = mergeSnapshots(first, second);
        for (const l of [...one, ...two]) send(whole.ingester, l);
        const all = whole.aggregator.snapshotAndReset(2000, 3);
        expect(plainSnapshot(merged)).to.deep.equal(plainSnapshot(all));
      }),
      { numRuns: 200 },
    );
  });

  it('owns its data: the inputs can be reused as soon as it returns', () => {
    const { ingester, aggregator } = makePipeline();
    send(ingester, 'c:1|c\nt:4|ms\ns:a|s\ng:2|g');
    const first = aggregator.snapshotAndReset(1000, 1);
    send(ingester, 'c:2|c\nt:1|ms');
    const second = runToEnd(computeSnapshot(aggregator.cut(2000, true), 1, aggregator.statsConfig));
    const merged = mergeSnapshots(first, second);
    const before = plainSnapshot(merged);
    send(ingester, 'c:100|c\nt:100|ms\ns:z|s\ng:9|g');
    aggregator.snapshotAndReset(3000, 1); // refreshes the first snapshot's arrays in place
    expect(plainSnapshot(merged)).to.deep.equal(before);
    expect(merged.counters[0]!.value).to.equal(3);
    expect([...merged.timers[0]!.values]).to.deep.equal([1, 4]);
  });

  it('in chunks: yields every CHUNK_SERIES series and gives what the one-piece merge gives', () => {
    const { ingester, aggregator } = makePipeline({ maxSeries: 0 });
    const lines = (round: number) =>
      Array.from({ length: 3000 }, (_, i) => `c${i}:${round}|c\nt${i}:${i + round}|ms\ng${i}:${round}|g`).join('\n');
    send(ingester, lines(1));
    const first = aggregator.snapshotAndReset(1000, 1);
    send(ingester, lines(2));
    const second = runToEnd(computeSnapshot(aggregator.cut(2000, true), 1, aggregator.statsConfig));
    const gen = mergeSnapshotsChunked(first, second);
    let yields = 0;
    let r = gen.next();
    for (; r.done !== true; r = gen.next()) yields++;
    // 2 × 9,000 inputs and 9,000 counter, gauge and timer outputs, one yield per CHUNK_SERIES.
    expect(yields).to.equal(Math.floor(27_000 / CHUNK_SERIES));
    expect(plainSnapshot(r.value)).to.deep.equal(plainSnapshot(mergeSnapshots(first, second)));
  });
});
