import { expect } from 'chai';
import { RawBatch } from '../../../../src/backends/forwarder/raw-batch.js';
import {
  decodeRawMessage,
  encodeRawMessage,
  forEachEntry,
  int64,
  type RawMessage,
} from '../../../../src/wire/gostatsd.js';
import { makePipeline, send } from '../../../support/pipeline.js';

/** The batch's message as sorted rows, through the wire and back. */
function rows(b: RawBatch): string[] {
  const m: RawMessage = decodeRawMessage(encodeRawMessage(b.toMessage()));
  const out: string[] = [];
  forEachEntry(m.Counters, (n, t) => forEachEntry(t!.TagMap, (k, v) => out.push(`c ${n} ${k} ${int64(v!.Value)}`)));
  forEachEntry(m.Gauges, (n, t) => forEachEntry(t!.TagMap, (k, v) => out.push(`g ${n} ${k} ${v!.Value}`)));
  forEachEntry(m.Timers, (n, t) =>
    forEachEntry(t!.TagMap, (k, v) => out.push(`t ${n} ${k} [${[...v!.Values].join(',')}] ${v!.SampleCount}`)),
  );
  forEachEntry(m.Sets, (n, t) =>
    forEachEntry(t!.TagMap, (k, v) => out.push(`s ${n} ${k} [${[...v!.Values].sort().join(',')}]`)),
  );
  return out.sort();
}

const BIG = 1 << 30;

describe('RawBatch (what a forwarder holds)', () => {
  it('takes what an interval received, leaving out series idle in it', () => {
    const p = makePipeline();
    send(
      p.ingester,
      'c:3|c|#a:1\nc:1|c|@0.5|#a:1\nidle:1|c\ng:5|g\nold:1|g\nt:2|ms|@0.5\nt:4|ms\ns:x|s\ns:y|s\ns:x|s\nq:1|ms\nu:z|s',
    );
    p.clock.advance(1);
    p.aggregator.snapshotAndReset(p.clock.now(), 1);
    p.clock.advance(1000);
    send(p.ingester, 'c:3|c|#a:1\nc:1|c|@0.5|#a:1\ng:5|g\nt:2|ms|@0.5\nt:4|ms\ns:x|s\ns:y|s\ns:x|s');
    const b = new RawBatch();
    expect(b.addSnapshot(p.aggregator.snapshotAndReset(p.clock.now(), 1), BIG)).to.equal(0);
    expect(rows(b)).to.deep.equal([
      'c c a:1,s:10.0.0.5 5',
      'g g ,s:10.0.0.5 5',
      's s ,s:10.0.0.5 [x,y]',
      't t ,s:10.0.0.5 [2,4] 3',
    ]);
  });

  it('merges intervals as gostatsd merges maps', () => {
    const p = makePipeline();
    const b = new RawBatch();
    send(p.ingester, 'c:2|c\ng:1|g\nt:1|ms\ns:a|s');
    b.addSnapshot(p.aggregator.snapshotAndReset(p.clock.now(), 1), BIG);
    p.clock.advance(1000);
    send(p.ingester, 'c:5|c\ng:7|g\nt:3|ms|@0.25\ns:b|s\ns:a|s');
    b.addSnapshot(p.aggregator.snapshotAndReset(p.clock.now(), 1), BIG);
    expect(rows(b)).to.deep.equal([
      'c c ,s:10.0.0.5 7',
      'g g ,s:10.0.0.5 7',
      's s ,s:10.0.0.5 [a,b]',
      't t ,s:10.0.0.5 [1,3] 5',
    ]);
  });

  it('an older batch merged back keeps the newer gauge and adds the rest', () => {
    const p = makePipeline();
    send(p.ingester, 'c:2|c\ng:1|g\nt:1|ms');
    const older = new RawBatch();
    older.addSnapshot(p.aggregator.snapshotAndReset(p.clock.now(), 1), BIG);
    p.clock.advance(1000);
    send(p.ingester, 'c:5|c\ng:7|g');
    const newer = new RawBatch();
    newer.addSnapshot(p.aggregator.snapshotAndReset(p.clock.now(), 1), BIG);
    expect(newer.mergeOlder(older, BIG)).to.equal(0);
    expect(rows(newer)).to.deep.equal(['c c ,s:10.0.0.5 7', 'g g ,s:10.0.0.5 7', 't t ,s:10.0.0.5 [1] 1']);
  });

  it('keeps within its byte bound, leaving out (and counting) what does not fit', () => {
    const p = makePipeline();
    const b = new RawBatch();
    let dropped = 0;
    for (let round = 0; round < 5; round++) {
      send(p.ingester, Array.from({ length: 500 }, (_, i) => `series.${round}.${i}:1|c`).join('\n'));
      dropped += b.addSnapshot(p.aggregator.snapshotAndReset(p.clock.now(), 1), 65_536);
      p.clock.advance(1000);
    }
    expect(b.bytes).to.be.at.most(65_536);
    expect(b.series + dropped).to.equal(2500);
    expect(dropped).to.be.greaterThan(0);
    // Series already held still merge when they do not grow the batch.
    send(p.ingester, 'series.0.0:4|c');
    expect(b.addSnapshot(p.aggregator.snapshotAndReset(p.clock.now(), 1), 65_536)).to.equal(0);
    expect(rows(b)).to.include('c series.0.0 ,s:10.0.0.5 5');
  });

  it('splits into parts of bounded size that together hold everything', () => {
    const p = makePipeline();
    send(p.ingester, Array.from({ length: 25 }, (_, i) => `k${i}:1|c\nt${i}:1|ms`).join('\n'));
    const b = new RawBatch();
    b.addSnapshot(p.aggregator.snapshotAndReset(p.clock.now(), 1), BIG);
    const parts = b.split(20);
    expect(parts.map((x) => x.series)).to.deep.equal([20, 20, 10]);
    expect(parts.flatMap(rows).sort()).to.deep.equal(rows(b));
  });
});
