import { expect } from 'chai';
import { waitFor } from '../../support/wait-for.js';
import fc from 'fast-check';
import { computeSnapshot } from '../../../src/aggregator/interval-cut.js';
import { runChunked, runToEnd } from '../../../src/shared/cooperative.js';
import type { FlushSnapshot } from '../../../src/aggregator/snapshot.js';
import { encodeSnapshotChunked, GroupScratch } from '../../../src/backends/sepagent/encode.js';
import { BufferPool } from '../../../src/backends/shared/buffer-pool.js';
import { SepMatcher } from '../../../src/backends/sepagent/sep-matcher.js';
import { makePipeline, plainSnapshot, send } from '../../support/pipeline.js';

const T0 = 1_556_100_400_000;
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);

/** Everything a backend can read from a snapshot, as plain data. */

// Envoy-like names over a few SEPs, values that repeat, and the occasional burst of one timer.
const sample = fc.tuple(
  fc.integer({ min: 0, max: 11 }),
  fc.constantFrom('c', 'g', 'ms', 's', 'c|@0.5', 'ms|@0.25'),
  fc.integer({ min: -50, max: 500 }),
);
const interval = fc.record({
  samples: fc.array(sample, { maxLength: 60 }),
  burst: fc.option(fc.integer({ min: 1, max: 3000 }), { freq: 4 }),
  gapMs: fc.constantFrom(1_000, 10_000, 400_000),
});

function lines(iv: { samples: Array<[number, string, number]>; burst: number | null }): string[] {
  const out = iv.samples.map(
    ([s, type, v]) => `envoy.cluster.external_cluster_sep${s % 4}.stat_${s}:${type === 's' ? `m${v}` : v}|${type}`,
  );
  if (iv.burst !== null)
    for (let i = 0; i < iv.burst; i++) out.push(`envoy.cluster.external_cluster_sep1.burst:${i % 97}|ms`);
  return out;
}

describe('interval cut: reused arrays', () => {
  it('a cut written into the previous cut`s arrays gives the same snapshots and documents as fresh cuts (differential property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(interval, { minLength: 1, maxLength: 8 }), async (intervals) => {
        // Short expiry so that series come and go between cuts.
        const expiry = { counterMs: 30_000, gaugeMs: 30_000, setMs: 30_000, timerMs: 30_000 };
        const reused = makePipeline({ expiry });
        const fresh = makePipeline({ expiry });
        const matcherA = new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)');
        const matcherB = new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)');
        const scratch = new GroupScratch();
        const pool = new BufferPool(1400, 2);
        let now = T0;
        for (const iv of intervals) {
          const text = lines(iv);
          for (let i = 0; i < text.length; i += 40) {
            send(reused.ingester, text.slice(i, i + 40).join('\n'));
            send(fresh.ingester, text.slice(i, i + 40).join('\n'));
          }
          now += iv.gapMs;
          const a = await runChunked(
            computeSnapshot(reused.aggregator.cut(now, false), 1, reused.aggregator.statsConfig),
            undefined,
            0,
          );
          const b = runToEnd(computeSnapshot(fresh.aggregator.cut(now, true), 1, fresh.aggregator.statsConfig));
          expect(plainSnapshot(a)).to.deep.equal(plainSnapshot(b));
          // The documents, with a reused grouping scratch and pooled buffers released as sent.
          const docsA: string[] = [];
          await runChunked(
            encodeSnapshotChunked(
              a,
              matcherA,
              1400,
              (d) => {
                docsA.push(d.payload.toString());
                setImmediate(() => d.release());
              },
              pool,
              scratch,
            ),
          );
          const docsB: string[] = [];
          runToEnd(encodeSnapshotChunked(b, matcherB, 1400, (d) => docsB.push(d.payload.toString())));
          expect(docsA).to.deep.equal(docsB);
          await new Promise((r) => setImmediate(r));
          expect(pool.out).to.equal(0);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('a fresh cut leaves the previous snapshot intact; a reused one refreshes it in place', () => {
    const { ingester, aggregator } = makePipeline();
    send(ingester, 'c:1|c\ng:2|g\nt:3|ms\nt:4|ms');
    const first = runToEnd(computeSnapshot(aggregator.cut(T0), 1, aggregator.statsConfig));
    const before = plainSnapshot(first);
    send(ingester, 'c:10|c\ng:20|g\nt:30|ms');
    const second = runToEnd(computeSnapshot(aggregator.cut(T0 + 1000, true), 1, aggregator.statsConfig));
    expect(plainSnapshot(first)).to.deep.equal(before);
    expect(second.counters).to.not.equal(first.counters);
    expect([...second.timers[0]!.values]).to.deep.equal([30]);
    // Once nobody holds them, consecutive cuts share their arrays and entries.
    send(ingester, 'c:100|c');
    const third = runToEnd(computeSnapshot(aggregator.cut(T0 + 2000, false), 1, aggregator.statsConfig));
    expect(third.counters[0]!.value).to.equal(100);
    // The timer entries made for the first snapshot are not the third's: they still say
    // what the first one said (its counters and gauges are the series themselves).
    expect(third.timers[0]!.count).to.equal(0);
    expect([first.timers[0]!.count, first.timers[0]!.sum, [...first.timers[0]!.values]]).to.deep.equal([2, 7, [3, 4]]);
    send(ingester, 'c:1000|c');
    const fourth = runToEnd(computeSnapshot(aggregator.cut(T0 + 3000, false), 1, aggregator.statsConfig));
    expect(fourth.counters).to.equal(third.counters);
    expect(fourth.timers).to.equal(third.timers);
    expect(third.counters[0]!.value).to.equal(1000);
  });

  it('gives back a burst`s worth of timer storage once the series is quiet', () => {
    const { ingester, aggregator } = makePipeline();
    send(ingester, Array.from({ length: 2000 }, (_, i) => `t:${i}|ms`).join('\n'));
    const burst = aggregator.snapshotAndReset(T0, 1).timers[0]!;
    expect(burst.count).to.equal(2000);
    const acc = (aggregator.cut(T0 + 1000).timers as ReadonlyArray<{ values: number[] }>)[0]!;
    expect(acc.values.length).to.equal(0);
    send(ingester, 't:5|ms');
    const quiet = aggregator.snapshotAndReset(T0 + 2000, 1).timers[0]!;
    expect([...quiet.values]).to.deep.equal([5]);
  });
});

/** A snapshot of 400 counters over 5 SEPs (a few dozen 1,400-byte documents), and a matcher. */
function fourHundredCounters(): { snap: FlushSnapshot; m: SepMatcher } {
  const { ingester, aggregator } = makePipeline();
  send(
    ingester,
    Array.from({ length: 400 }, (_, i) => `envoy.cluster.external_cluster_sep${i % 5}.s${i}:${i}|c`).join('\n'),
  );
  return {
    snap: aggregator.snapshotAndReset(T0, 10),
    m: new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)'),
  };
}

describe('SepAgent encoder back-pressure', () => {
  it('waits for sent documents to come back once the pool`s limit is out, and produces the same documents', async () => {
    const { snap, m } = fourHundredCounters();
    const expected: string[] = [];
    runToEnd(encodeSnapshotChunked(snap, m, 1400, (d) => expected.push(d.payload.toString())));
    const pool = new BufferPool(1400, 3, 3);
    const got: string[] = [];
    let maxOut = 0;
    const held: Array<() => void> = [];
    const run = runChunked(
      encodeSnapshotChunked(
        snap,
        m,
        1400,
        (d) => {
          got.push(d.payload.toString());
          maxOut = Math.max(maxOut, pool.out);
          held.push(() => d.release());
        },
        pool,
      ),
    );
    // Nothing comes back: the encoder must stop at the limit, and stay stopped however
    // many turns the event loop takes.
    await waitFor(() => pool.out === 3);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(pool.out).to.equal(3);
    const stalled = got.length;
    expect(stalled).to.be.lessThan(expected.length);
    // Release as a socket would, one at a time.
    const releaser = setInterval(() => held.shift()?.(), 1);
    await run;
    clearInterval(releaser);
    for (const r of held) r();
    expect(got).to.deep.equal(expected);
    expect(maxOut).to.be.at.most(3 + 1);
    expect(pool.out).to.equal(0);
  });

  it('an encoding abandoned at its deadline while waiting hands every buffer back', async () => {
    const { snap, m } = fourHundredCounters();
    const pool = new BufferPool(1400, 3, 3);
    for (let flush = 0; flush < 5; flush++) {
      const held: Array<() => void> = [];
      const ac = new AbortController();
      const run = runChunked(
        encodeSnapshotChunked(snap, m, 1400, (d) => held.push(() => d.release()), pool),
        ac.signal,
      );
      await waitFor(() => pool.out === 3); // blocked, waiting for a buffer
      ac.abort(new Error('deadline'));
      const err = await run.catch((e: unknown) => e);
      expect((err as Error).message).to.equal('deadline');
      // The documents the socket still held come back later; then nothing is out.
      for (const r of held) r();
      expect(pool.out).to.equal(0);
    }
  });
});
