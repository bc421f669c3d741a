import { expect } from 'chai';
import fc from 'fast-check';
import { PartialCutMerger, PartialCutWriter, type PartialCut } from '../../../src/aggregator/partial-cut.js';
import type { FlushSnapshot } from '../../../src/aggregator/snapshot.js';
import { transferList } from '../../../src/aggregator/partial-cut.js';
import { IngestStats } from '../../../src/ingest/ingest-stats.js';
import { createPipeline } from '../../../src/ingest/pipeline.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { ManualClock } from '../../support/manual-clock.js';
import { plainSnapshot, send } from '../../support/pipeline.js';

const T0 = 1_700_000_000_000;
const AGG = { expiry: { counterMs: 1500, gaugeMs: 1500, setMs: 1500, timerMs: 1500 }, percentThresholds: [90, -50] };

/** One line of a client: what it sends is decided by the generator. */
const line = (client: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc
      .tuple(fc.nat(3), fc.integer({ min: -5, max: 50 }), fc.constantFrom('', '|@0.5', '|@0.1'))
      .map(([k, v, r]) => `c${k}:${v}|c${r}`),
    // An absolute gauge has one writer (which client's value is last is not defined across threads).
    fc.tuple(fc.nat(2), fc.double({ min: -1e6, max: 1e6, noNaN: true })).map(([k, v]) => `g${client}_${k}:${v}|g`),
    fc
      .tuple(fc.nat(2), fc.integer({ min: 1, max: 9 }), fc.boolean())
      .map(([k, v, up]) => `d${k}:${up ? '+' : '-'}${v}|g`),
    fc
      .tuple(fc.nat(3), fc.integer({ min: 0, max: 1000 }), fc.constantFrom('', '|@0.25'))
      .map(([k, v, r]) => `t${k}:${v}|ms${r}`),
    fc.tuple(fc.nat(2), fc.nat(6)).map(([k, m]) => `s${k}:m${m}|s`),
    fc.tuple(fc.nat(2), fc.nat(3)).map(([k, x]) => `tagged${k}:1|c|#env:e${x},b:1`),
  );

/** Intervals of datagrams, each datagram from one of 4 clients. */
const traffic = fc.array(
  fc.array(
    fc
      .integer({ min: 0, max: 3 })
      .chain((client) =>
        fc.array(line(client), { minLength: 1, maxLength: 4 }).map((lines) => ({ client, text: lines.join('\n') })),
      ),
    { maxLength: 30 },
  ),
  { minLength: 1, maxLength: 6 },
);

/** A snapshot as data, with each kind's series sorted by identity and timer values sorted. */
function canonical(s: FlushSnapshot): unknown {
  const p = plainSnapshot(s) as Record<string, unknown[][]>;
  const byIdentity = (a: unknown[], b: unknown[]): number => {
    const ka = `${String(a[0])}\n${String(a[3])}`;
    const kb = `${String(b[0])}\n${String(b[3])}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  for (const kind of ['counters', 'gauges', 'timers', 'sets']) p[kind]!.sort(byIdentity);
  for (const t of p['timers']!) (t[15] as number[]).sort((a, b) => a - b);
  return p;
}

/** A receive pipeline with gauge deltas applied, on its own manual clock. */
function pipeline() {
  const clock = new ManualClock();
  const p = createPipeline(
    { aggregator: AGG, gaugeDeltas: 'apply' },
    { stats: new IngestStats(), clock, logger: silentLogger, onEvent: () => undefined },
  );
  return { ...p, clock };
}

/** The flushes of one pipeline that receives everything. */
function single(intervals: Array<Array<{ client: number; text: string }>>): unknown[] {
  const { ingester, aggregator, clock } = pipeline();
  return intervals.map((datagrams, k) => {
    clock.setNow(T0 + k * 1000 + 500);
    for (const d of datagrams) send(ingester, d.text);
    return canonical(aggregator.snapshotAndReset(T0 + (k + 1) * 1000, 1));
  });
}

/**
 * The flushes of `n` worker pipelines (client i's datagrams go to worker i mod n, as a
 * socket's do under SO_REUSEPORT) whose partial cuts are merged into a main aggregator
 * before each of its flushes; each partial goes through structured cloning with its
 * buffers transferred, as between threads.
 */
function partitioned(intervals: Array<Array<{ client: number; text: string }>>, n: number): unknown[] {
  const workers = Array.from({ length: n }, () => ({ ...pipeline(), writer: new PartialCutWriter() }));
  const main = pipeline();
  const mergers = workers.map(() => new PartialCutMerger());
  return intervals.map((datagrams, k) => {
    for (const w of workers) w.clock.setNow(T0 + k * 1000 + 500);
    for (const d of datagrams) send(workers[d.client % n]!.ingester, d.text);
    const cutAt = T0 + (k + 1) * 1000;
    workers.forEach((w, i) => {
      const partial = w.writer.write(w.aggregator.cut(cutAt), cutAt);
      const moved = structuredClone<PartialCut>(partial, { transfer: transferList(partial) });
      expect(partial.counterIds.length).to.equal(0); // transferred, not copied
      mergers[i]!.merge(main.aggregator, moved, cutAt);
    });
    return canonical(main.aggregator.snapshotAndReset(cutAt, 1));
  });
}

/** A worker's and the main thread's pipelines at T0 whose timers fold past 4 values. */
function foldingPipelines() {
  const clock = new ManualClock();
  clock.setNow(T0);
  const make = () =>
    createPipeline(
      { aggregator: { ...AGG, timerExactValues: 4 } },
      { stats: new IngestStats(), clock, logger: silentLogger, onEvent: () => undefined },
    );
  return [make(), make()] as const;
}

describe('partial cuts (ingest workers)', () => {
  it('any number of workers gives the same snapshots as one pipeline: counters, gauges and their deltas, timers, sets, tags, expiry', () => {
    fc.assert(
      fc.property(traffic, fc.integer({ min: 1, max: 4 }), (intervals, n) => {
        expect(partitioned(intervals, n)).to.deep.equal(single(intervals));
      }),
      { numRuns: 150 },
    );
  });

  it("sends a series once by name, then by id; an expired series' id goes to the next new series", () => {
    const w = pipeline();
    w.clock.setNow(T0);
    const writer = new PartialCutWriter();
    send(w.ingester, 'a:1|c\nb:2|c');
    const first = writer.write(w.aggregator.cut(T0 + 1), T0 + 1);
    expect(first.addedNames).to.deep.equal(['a', 'b']);
    expect([...first.counterValues]).to.deep.equal([1, 2]);
    w.clock.setNow(T0 + 100);
    send(w.ingester, 'a:5|c');
    const second = writer.write(w.aggregator.cut(T0 + 1000), T0 + 1000);
    expect(second.addedNames).to.deep.equal([]); // known: sent by id only
    expect([...second.counterIds]).to.deep.equal([first.addedIds[0]]);
    expect([...second.counterValues]).to.deep.equal([5]); // b had no samples: not sent
    w.clock.setNow(T0 + 3000);
    send(w.ingester, 'c:1|c');
    const third = writer.write(w.aggregator.cut(T0 + 3000), T0 + 3000);
    expect([...third.retired].sort()).to.deep.equal([...first.addedIds].sort()); // a and b expired
    expect(third.addedNames).to.deep.equal(['c']);
    expect([...first.addedIds]).to.include(third.addedIds[0]);
    expect(writer.knownSeries).to.equal(1);
  });

  it('a timer past timer-exact-values travels as its histogram and merges bucket-wise', () => {
    const [worker, main] = foldingPipelines();
    for (let v = 1; v <= 100; v++) send(worker.ingester, `t:${v}|ms`);
    const partial = new PartialCutWriter().write(worker.aggregator.cut(T0), T0);
    expect([...partial.timerFoldedAt]).to.deep.equal([0]);
    expect(partial.timerValues.length).to.equal(0);
    new PartialCutMerger().merge(main.aggregator, partial, T0);
    const [t] = main.aggregator.snapshotAndReset(T0, 1).timers;
    expect(t!.count).to.equal(100);
    expect(t!.sum).to.equal(5050);
    expect(t!.min).to.equal(1);
    expect(t!.max).to.equal(100);
  });

  it('each folded timer merges as its own histogram, whatever its place among exact ones', () => {
    const [worker, main] = foldingPipelines();
    send(worker.ingester, 'a:1|ms\na:2|ms'); // exact
    for (let v = 1; v <= 50; v++) send(worker.ingester, `b:${v}|ms`); // folded
    send(worker.ingester, 'c:7|ms'); // exact
    for (let v = 101; v <= 120; v++) send(worker.ingester, `d:${v}|ms`); // folded
    const partial = new PartialCutWriter().write(worker.aggregator.cut(T0), T0);
    expect([...partial.timerFoldedAt]).to.deep.equal([1, 3]);
    new PartialCutMerger().merge(main.aggregator, partial, T0);
    const timers = main.aggregator.snapshotAndReset(T0, 1).timers;
    expect(timers.map((t) => [t.name, t.count, t.sum, t.min, t.max])).to.deep.equal([
      ['a', 2, 3, 1, 2],
      ['b', 50, 1275, 1, 50],
      ['c', 1, 7, 7, 7],
      ['d', 20, 2210, 101, 120],
    ]);
  });

  it('a series past max-series on the merging side is dropped and counted, and merged once there is room', () => {
    const clock = new ManualClock();
    const worker = pipeline();
    worker.clock.setNow(T0);
    const main = createPipeline(
      { aggregator: { ...AGG, maxSeries: 1 } },
      { stats: new IngestStats(), clock, logger: silentLogger, onEvent: () => undefined },
    );
    const writer = new PartialCutWriter();
    const merger = new PartialCutMerger();
    send(worker.ingester, 'a:1|c\nb:1|c');
    expect(merger.merge(main.aggregator, writer.write(worker.aggregator.cut(T0), T0), T0)).to.equal(1);
    expect(main.aggregator.seriesDropped).to.equal(1);
    main.aggregator.snapshotAndReset(T0 + 2000, 1); // a expires
    worker.clock.setNow(T0 + 2500);
    send(worker.ingester, 'b:7|c');
    merger.merge(main.aggregator, writer.write(worker.aggregator.cut(T0 + 3000), T0 + 3000), T0 + 3000);
    const counters = main.aggregator.snapshotAndReset(T0 + 3000, 1).counters;
    expect(counters.map((c) => [c.name, c.value])).to.deep.equal([['b', 7]]);
  });
});
