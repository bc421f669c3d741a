import { expect } from 'chai';
import { makePipeline, plainSnapshot, send } from '../../support/pipeline.js';

const T0 = 1_556_100_400_000;

describe('InMemoryAggregator', () => {
  describe('counters', () => {
    it('truncates each sample divided by its rate before summing (3 × 1@0.3 = 9, not 10)', () => {
      const { ingester, aggregator } = makePipeline();
      for (let i = 0; i < 3; i++) send(ingester, 'c:1|c|@0.3');
      send(ingester, 'c:-1|c|@0.4\nc:1.9|c\nc:-0|c');
      const [c] = aggregator.snapshotAndReset(T0 + 10_000, 10).counters;
      expect(c!.value).to.equal(9 - 2 + 1);
      expect(Object.is(c!.value, -0)).to.equal(false);
      expect(c!.perSecond).to.equal(0.8);
    });

    it('divides per_second by the measured interval', () => {
      const { ingester, aggregator } = makePipeline();
      send(ingester, 'c:5|c');
      expect(aggregator.snapshotAndReset(T0, 10.000043).counters[0]!.perSecond).to.equal(5 / 10.000043);
    });
  });

  describe('gauges', () => {
    it('keeps the last value, even within one datagram (the reference keeps the first)', () => {
      const { ingester, aggregator } = makePipeline();
      send(ingester, 'g:1|g\ng:2|g');
      expect(aggregator.snapshotAndReset(T0, 1).gauges[0]!.value).to.equal(2);
      send(ingester, 'g:7|g');
      send(ingester, 'g:3|g');
      expect(aggregator.snapshotAndReset(T0, 1).gauges[0]!.value).to.equal(3);
    });
  });

  describe('sets', () => {
    it('counts distinct members by exact byte string', () => {
      const { ingester, aggregator } = makePipeline();
      send(ingester, 'u:josé|s\nu:jose|s\nu:josé|s\nu:|s');
      const [s] = aggregator.snapshotAndReset(T0, 1).sets;
      expect(s!.size).to.equal(3);
      expect([...s!.members]).to.have.members(['josé', 'jose', '']);
    });
  });

  describe('timers', () => {
    it('keeps raw values and counts 1/rate per sample', () => {
      const { ingester, aggregator } = makePipeline();
      send(ingester, 't:250|ms|@0.25\nt:10|h');
      const [t] = aggregator.snapshotAndReset(T0, 10).timers;
      expect(t!.count).to.equal(5);
      expect(t!.perSecond).to.equal(0.5);
      expect([...t!.values]).to.deep.equal([10, 250]);
    });
  });

  describe('series identity', () => {
    it('separates types, tags (any order, duplicates) and sender hosts', () => {
      const { ingester, aggregator } = makePipeline();
      send(ingester, 'm:1|c|#b:2,a:1\nm:1|c|#a:1,b:2,a:1\nm:1|g', '10.0.0.5');
      send(ingester, 'm:1|c|#a:1,b:2', '10.0.0.6');
      const snap = aggregator.snapshotAndReset(T0, 1);
      expect(snap.counters.map((c) => [c.tagsKey, c.value])).to.deep.equal([
        ['a:1,b:2,s:10.0.0.5', 2],
        ['a:1,b:2,s:10.0.0.6', 1],
      ]);
      expect(snap.counters[0]!.tags).to.deep.equal(['a:1', 'b:2']);
      expect(snap.gauges).to.have.length(1);
    });

    it('keeps 100 tag sets of one name apart, through expiry of some and the return of others', () => {
      // The first series of a name are chained by name, later ones are keyed by name and
      // tags: both must find, expire and re-create series alike.
      const exp = 10_000;
      const { ingester, aggregator, clock } = makePipeline(
        { expiry: { counterMs: exp, gaugeMs: exp, setMs: exp, timerMs: exp } },
        {},
        false, // every line through the aggregator's look-up, not the line cache
      );
      clock.setNow(T0);
      for (let round = 1; round <= 2; round++)
        for (let u = 0; u < 100; u++) send(ingester, `req:${u + 1}|c|#user:${u}`);
      const values = (at: number): Map<string, number> =>
        new Map(aggregator.snapshotAndReset(at, 1).counters.map((c) => [c.tagsKey, c.value]));
      const first = values(T0 + 1_000);
      expect(first.size).to.equal(100);
      for (let u = 0; u < 100; u++) expect(first.get(`user:${u},s:10.0.0.5`)).to.equal(2 * (u + 1));
      // Only the odd users stay active; the even ones expire.
      clock.setNow(T0 + 8_000);
      for (let u = 1; u < 100; u += 2) send(ingester, `req:1|c|#user:${u}`);
      expect(values(T0 + 12_000).size).to.equal(100); // expired series still appear in the cut that drops them
      expect(aggregator.seriesCount().counter).to.equal(50);
      // Even users come back as new series, odd ones keep theirs.
      clock.setNow(T0 + 13_000);
      for (let u = 0; u < 100; u++) send(ingester, `req:${u}|c|#user:${u}`);
      const back = values(T0 + 14_000);
      expect(back.size).to.equal(100);
      for (let u = 0; u < 100; u++) expect(back.get(`user:${u},s:10.0.0.5`)).to.equal(u);
      expect(aggregator.liveSeries).to.equal(100);
    });

    it('shares one tags object among series with the same tags and host, and only among them', () => {
      const { ingester, aggregator } = makePipeline();
      send(ingester, 'a:1|c|#x:1\nb:1|c|#x:1\nc:1|g|#x:1\nd:1|c|#x:2\ne:1|c', '10.0.0.5');
      send(ingester, 'f:1|c|#x:1', '10.0.0.6');
      const snap = aggregator.snapshotAndReset(T0, 1);
      const by = new Map([...snap.counters, ...snap.gauges].map((p) => [p.name, p as unknown as { id: object }]));
      expect(by.get('b')!.id).to.equal(by.get('a')!.id);
      expect(by.get('c')!.id).to.equal(by.get('a')!.id);
      expect(by.get('d')!.id).to.not.equal(by.get('a')!.id);
      expect(by.get('f')!.id).to.not.equal(by.get('a')!.id);
      expect(snap.counters.find((c) => c.name === 'f')!.host).to.equal('10.0.0.6');
      expect(snap.counters.find((c) => c.name === 'e')!.tags).to.deep.equal([]);
      expect(snap.counters.find((c) => c.name === 'd')!.tags).to.deep.equal(['x:2']);
    });
  });

  describe('reset and expiry (docs/semantics.md#reset-and-expiry)', () => {
    it('follows the reference timeline: flush 10 s, expiry 30 s, one sample at t = 5 s', () => {
      const exp = 30_000;
      const { ingester, aggregator, clock } = makePipeline({
        expiry: { counterMs: exp, gaugeMs: exp, setMs: exp, timerMs: exp },
      });
      clock.setNow(T0 + 5_000);
      send(ingester, 'c:3|c\ng:4|g\nt:9|ms\ns:x|s');
      const seen: Array<[number, number, number, number]> = [];
      for (const t of [10, 20, 30, 40, 50]) {
        const s = aggregator.snapshotAndReset(T0 + t * 1000, 10);
        seen.push([
          s.counters[0]?.value ?? -1,
          s.gauges[0]?.value ?? -1,
          s.timers[0]?.count ?? -1,
          s.sets[0]?.size ?? -1,
        ]);
      }
      expect(seen).to.deep.equal([
        [3, 4, 1, 1],
        [0, 4, 0, 0],
        [0, 4, 0, 0],
        [0, 4, 0, 0],
        [-1, -1, -1, -1],
      ]);
    });

    it('reports an idle timer as all zeros without percentile entries', () => {
      const { ingester, aggregator } = makePipeline();
      send(ingester, 't:9|ms');
      aggregator.snapshotAndReset(T0, 1);
      const [t] = aggregator.snapshotAndReset(T0 + 1000, 1).timers;
      expect(t).to.deep.include({
        min: 0,
        max: 0,
        count: 0,
        perSecond: 0,
        mean: 0,
        median: 0,
        stdDev: 0,
        sum: 0,
        sumSquares: 0,
      });
      expect(t!.percentiles).to.deep.equal([]);
    });

    it('applies a separate expiry per type', () => {
      const { ingester, aggregator, clock } = makePipeline({
        expiry: { counterMs: 1_000, gaugeMs: 0, setMs: 5_000, timerMs: 2_000 },
      });
      clock.setNow(T0);
      send(ingester, 'c:1|c\ng:1|g\ns:a|s\nt:1|ms');
      const count = (at: number): number[] => {
        aggregator.snapshotAndReset(at, 1);
        const n = aggregator.seriesCount();
        return [n.counter, n.gauge, n.set, n.timer];
      };
      expect(count(T0 + 1_000)).to.deep.equal([1, 1, 1, 1]); // not strictly greater yet
      expect(count(T0 + 1_500)).to.deep.equal([0, 1, 1, 1]);
      expect(count(T0 + 2_500)).to.deep.equal([0, 1, 1, 0]);
      expect(count(T0 + 60_000)).to.deep.equal([0, 1, 0, 0]); // gauge expiry 0 = never
    });

    it('a sample refreshes the expiry clock', () => {
      const { ingester, aggregator, clock } = makePipeline({
        expiry: { counterMs: 10_000, gaugeMs: 10_000, setMs: 10_000, timerMs: 10_000 },
      });
      clock.setNow(T0);
      send(ingester, 'c:1|c');
      aggregator.snapshotAndReset(T0 + 8_000, 8);
      clock.setNow(T0 + 9_000);
      send(ingester, 'c:1|c');
      aggregator.snapshotAndReset(T0 + 15_000, 7);
      expect(aggregator.seriesCount().counter).to.equal(1);
    });
  });

  describe('shards (max-workers)', () => {
    it('produces the same consolidated snapshot, in the same order, for 1 and 4 shards', () => {
      const lines: string[] = [];
      for (let i = 0; i < 200; i++) {
        lines.push(
          `envoy.cluster.external_cluster_sep${i % 7}.stat_${i % 13}:${i}|${['c', 'g', 'ms', 's'][i % 4]}|#z:${i % 3}`,
        );
      }
      const run = (shards: number): unknown => {
        const { ingester, aggregator } = makePipeline({ shards });
        for (let i = 0; i < lines.length; i += 10) send(ingester, lines.slice(i, i + 10).join('\n'), `10.0.0.${i % 4}`);
        return plainSnapshot(aggregator.snapshotAndReset(T0, 10));
      };
      expect(run(4)).to.deep.equal(run(1));
    });
  });
});
