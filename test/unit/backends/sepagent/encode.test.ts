import { expect } from 'chai';
import { encodeSnapshot, encodeSnapshotChunked, type SepDocument } from '../../../../src/backends/sepagent/encode.js';
import { BufferPool } from '../../../../src/backends/shared/buffer-pool.js';
import { runToEnd } from '../../../../src/shared/cooperative.js';
import { goJsonNumber, goJsonString } from '../../../../src/backends/sepagent/go-json.js';
import { SepMatcher } from '../../../../src/backends/sepagent/sep-matcher.js';
import { makePipeline, send } from '../../../support/pipeline.js';

const A = new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)');
const K = new SepMatcher('[A-Za-z0-9.-]+_sep_[0-9]+', 'external_cluster_[A-Za-z0-9._-]*sep_[0-9]+');
const T = 1_556_100_410_000;

function encode(text: string, maxBytes = 65507, matcher = A) {
  const { ingester, aggregator } = makePipeline();
  send(ingester, text);
  return encodeSnapshot(aggregator.snapshotAndReset(T, 10), matcher, maxBytes);
}

describe('SepMatcher: the extraction table (docs/semantics.md#which-series-and-where)', () => {
  const table: Array<[string, SepMatcher, string, string | [string, string, string]]> = [
    [
      'A',
      A,
      'envoy.cluster.external_cluster_sep1.upstream_rq_time',
      ['external_cluster_sep1', 'sep1', 'upstream_rq_time'],
    ],
    [
      'A',
      A,
      'envoy.cluster.external_cluster_sep12.upstream_cx_total',
      ['external_cluster_sep12', 'sep12', 'upstream_cx_total'],
    ],
    [
      'A',
      A,
      'envoy.cluster.external_cluster_sep1.circuit_breakers.default.rq_open',
      ['external_cluster_sep1', 'sep1', 'circuit_breakers.default.rq_open'],
    ],
    [
      'A',
      A,
      'envoy.cluster.external_cluster_sep1.upstream_rq_time.sep2',
      ['external_cluster_sep1', 'sep1', 'upstream_rq_time.sep2'],
    ],
    ['A', A, 'envoy.cluster.external_cluster_sep1_rq', ['external_cluster_sep1', 'sep1', 'rq']],
    ['A', A, 'envoy.cluster.external_cluster_sep1', 'no_statistics'],
    ['A', A, 'envoy.cluster.external_cluster_eslap.cloud_sep_1.upstream_rq_time', 'ignored'],
    ['A', A, 'envoy.cluster.local_sep1.upstream_rq_time', 'ignored'],
    [
      'K',
      K,
      'envoy.cluster.external_cluster_eslap.cloud_sep_1.upstream_rq_time',
      ['external_cluster_eslap.cloud_sep_1', 'eslap.cloud_sep_1', 'upstream_rq_time'],
    ],
    [
      'K',
      K,
      'envoy.cluster.external_cluster_eslap.cloud_sep_1.circuit_breakers.default.cx_open',
      ['external_cluster_eslap.cloud_sep_1', 'eslap.cloud_sep_1', 'circuit_breakers.default.cx_open'],
    ],
    [
      'K',
      K,
      'envoy.cluster.external_cluster_my-svc.example_sep_3.upstream_rq_2xx',
      ['external_cluster_my-svc.example_sep_3', 'my-svc.example_sep_3', 'upstream_rq_2xx'],
    ],
    [
      'K',
      K,
      'envoy.cluster.external_cluster_sep_1.upstream_rq_total',
      ['external_cluster_sep_1', 'cluster_sep_1', 'upstream_rq_total'],
    ],
    ['K', K, 'envoy.cluster.external_cluster_eslap.cloud_sep_1', 'no_statistics'],
    ['K', K, 'envoy.cluster.external_cluster_sep1.upstream_rq_time', 'ignored'],
  ];
  for (const [cfg, m, key, want] of table) {
    it(`${cfg}: ${key}`, () => {
      const c = m.classify(key);
      if (typeof want === 'string') expect(c).to.equal(want);
      else {
        expect(typeof c).to.equal('object');
        if (typeof c === 'object') expect([c.cluster, c.instanceId, c.statistics]).to.deep.equal(want);
      }
    });
  }
  it('statistics is "" when one character follows the cluster', () => {
    const c = A.classify('x.external_cluster_sep1.');
    expect(typeof c === 'object' && c.statistics).to.equal('');
  });
});

describe('encodeSnapshot', () => {
  it('skips and counts NaN/Infinity items instead of failing the document', () => {
    const r = encode('envoy.cluster.external_cluster_sep1.g:inf|g\nenvoy.cluster.external_cluster_sep1.c:1|c');
    expect(r.dropped.non_finite).to.equal(1);
    expect(r.documents).to.have.length(1);
    const doc = JSON.parse(r.documents[0]!.payload.toString()) as { metrics: unknown[] };
    expect(doc.metrics).to.have.length(2);
  });

  it('an infinite timer value drops its non-finite items only; other SEPs still go out', () => {
    const r = encode('envoy.cluster.external_cluster_sep1.t:inf|ms\nenvoy.cluster.external_cluster_sep2.c:1|c');
    expect(r.documents.map((d) => d.sep)).to.deep.equal(['sep2', 'sep1']); // counters first, then timers
    const items = (sep: string): Array<[string, number]> =>
      (
        JSON.parse(r.documents.find((d) => d.sep === sep)!.payload.toString()) as {
          metrics: Array<{ aggregationType: string; value: number }>;
        }
      ).metrics.map((m) => [m.aggregationType, m.value]);
    // One value of +Inf: only its count, rate and count_90 are finite (std is NaN: inf - inf).
    expect(items('sep1')).to.deep.equal([
      ['count', 1],
      ['count_ps', 0.1],
      ['count_90', 1],
    ]);
    expect(items('sep2')).to.deep.equal([
      ['count', 1],
      ['per_second', 0.1],
    ]);
    expect(r.dropped.non_finite).to.equal(9 + 5 - 3);
  });

  it('prints negative zero as -0, like Go', () => {
    const r = encode('envoy.cluster.external_cluster_sep1.g:-0|g');
    expect(r.documents[0]!.payload.toString()).to.contain('"value":-0,');
  });

  it('splits a SEP whose document exceeds max_datagram_bytes into several valid documents, losing nothing', () => {
    const lines = Array.from({ length: 150 }, (_, i) => `envoy.cluster.external_cluster_sep1.stat_${i}:${i}|c`);
    const whole = encode(lines.join('\n'));
    expect(whole.documents).to.have.length(1);
    const split = encode(lines.join('\n'), 1400);
    expect(split.documents.length).to.be.greaterThan(20);
    let items: unknown[] = [];
    for (const d of split.documents) {
      expect(d.payload.length).to.be.at.most(1400);
      const doc = JSON.parse(d.payload.toString()) as { sep: string; metrics: unknown[] };
      expect(doc.sep).to.equal('sep1');
      expect(d.items).to.equal(doc.metrics.length);
      items = items.concat(doc.metrics);
    }
    expect(items).to.deep.equal((JSON.parse(whole.documents[0]!.payload.toString()) as { metrics: unknown[] }).metrics);
  });

  it('the default limit (65507) sends what the reference would send whole', () => {
    const lines = Array.from({ length: 190 }, (_, i) => `envoy.cluster.external_cluster_sep1.s${i}:1|c`);
    const r = encode(lines.join('\n'));
    expect(r.documents).to.have.length(1);
    expect(r.documents[0]!.payload.length).to.be.lessThan(65507);
  });

  it('sends nothing when no series is a SEP metric', () => {
    expect(encode('envoy.server.live:1|g').documents).to.deep.equal([]);
  });
});

describe('Go JSON encoding', () => {
  it('escapes like encoding/json', () => {
    expect(goJsonString('a<b>&c')).to.equal('"a\\u003cb\\u003e\\u0026c"');
    expect(goJsonString('q"\\')).to.equal('"q\\"\\\\"');
    expect(goJsonString('\n\r\t\b\f\u0001')).to.equal('"\\n\\r\\t\\u0008\\u000c\\u0001"');
    expect(goJsonString('\u2028\u2029')).to.equal('"\\u2028\\u2029"');
    expect(goJsonString('é€😀')).to.equal('"é€😀"');
    expect(goJsonString('x\ud800y')).to.equal('"x\ufffdy"');
  });
  it('formats numbers with shortest round-trip digits and -0', () => {
    const cases: Array<[number, string]> = [
      [11, '11'],
      [0.3, '0.3'],
      [14.555555555555555, '14.555555555555555'],
      [1e-7, '1e-7'],
      [0.000001, '0.000001'],
      [1e21, '1e+21'],
      [123456789012345680000, '123456789012345680000'],
      [-0, '-0'],
    ];
    for (const [v, s] of cases) expect(goJsonNumber(v)).to.equal(s);
  });
});

describe('encodeSnapshotChunked', () => {
  it('streams the same documents it would return, one at a time', () => {
    const { ingester, aggregator } = makePipeline();
    const lines = Array.from(
      { length: 400 },
      (_, i) => `envoy.cluster.external_cluster_sep${i % 9}.s${i}:${i}|${['c', 'g', 'ms'][i % 3]}`,
    );
    send(ingester, lines.join('\n'));
    const snap = aggregator.snapshotAndReset(T, 10);
    const batch = encodeSnapshot(snap, A, 1400).documents.map((d) => d.payload.toString());
    const streamed: string[] = [];
    const r = runToEnd(encodeSnapshotChunked(snap, A, 1400, (d) => streamed.push(d.payload.toString())));
    expect(r.documents).to.deep.equal([]);
    expect(streamed).to.deep.equal(batch);
    expect(streamed.length).to.be.greaterThan(9);
  });

  it('writes into recycled buffers: each held document keeps its bytes until released', () => {
    const { ingester, aggregator } = makePipeline();
    send(
      ingester,
      Array.from({ length: 300 }, (_, i) => `envoy.cluster.external_cluster_sep${i % 7}.s${i}:${i}|c`).join('\n'),
    );
    const snap = aggregator.snapshotAndReset(T, 10);
    const expected = encodeSnapshot(snap, A, 1400).documents.map((d) => d.payload.toString());
    const pool = new BufferPool(1400, 4);
    for (let round = 0; round < 3; round++) {
      // Hold every document of the flush before releasing any: none may overwrite another.
      const held: SepDocument[] = [];
      runToEnd(encodeSnapshotChunked(snap, A, 1400, (d) => held.push(d), pool));
      expect(held.map((d) => d.payload.toString())).to.deep.equal(expected);
      expect(new Set(held.map((d) => d.payload.buffer)).size).to.equal(held.length);
      // The writer's spare buffer came back; the held ones come back on release, up to `keep`.
      expect(pool.idle).to.equal(1);
      for (const d of held) d.release();
      expect(pool.idle).to.equal(4);
    }
  });
});

describe('SepMatcher cache', () => {
  it('is bounded by the series a flush holds, so churning names cannot pin memory', () => {
    const m = new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)');
    for (let i = 0; i < 70_000; i++) m.classify(`envoy.cluster.external_cluster_sep1.gen${i}_total`);
    expect(m.cachedNames).to.equal(70_000);
    m.fitTo(1000); // a flush of 1,000 series: the 70,000 cached names are mostly gone
    expect(m.cachedNames).to.equal(0);
    for (let i = 0; i < 100; i++) m.classify(`envoy.cluster.external_cluster_sep1.s${i}_total`);
    m.fitTo(1000);
    expect(m.cachedNames).to.equal(100);
  });

  it('holds every name of a flush larger than its limit, so they are classified once', () => {
    const m = new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)', 1000);
    const names = Array.from({ length: 3000 }, (_, i) => `envoy.cluster.external_cluster_sep${i % 7}.s${i}_total`);
    for (const n of names) m.code(n);
    expect(m.cachedNames).to.be.at.most(1000); // started over at its limit
    m.fitTo(names.length);
    for (const n of names) m.code(n);
    expect(m.cachedNames).to.equal(3000);
    m.fitTo(names.length);
    expect(m.cachedNames).to.equal(3000);
    expect(m.classify(names[2999]!)).to.deep.equal({
      instanceId: 'sep3',
      cluster: 'external_cluster_sep3',
      statistics: 's2999_total',
    });
  });
});

describe('SepMatcher storage', () => {
  /** The match of `…external_cluster_sep<n>.<statistics>` under `sep([0-9]+)`. */
  const sepMatch = (n: number, statistics: string) => ({
    instanceId: `sep${n}`,
    cluster: `external_cluster_sep${n}`,
    statistics,
  });

  it('keeps one middle per statistic and one prefix set per cluster, whatever the number of names', () => {
    const m = new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)');
    for (let sep = 0; sep < 300; sep++) {
      for (const stat of ['upstream_rq_time', 'upstream_rq_total', 'membership_healthy']) {
        m.classify(`envoy.cluster.external_cluster_sep${sep}.${stat}`);
        m.classify(`other.cluster.external_cluster_sep${sep}.${stat}`);
      }
    }
    expect(m.cachedNames).to.equal(1800);
    expect(m.cachedParts).to.deep.equal({ clusters: 300, statistics: 3 });
    expect(m.classify('other.cluster.external_cluster_sep17.membership_healthy')).to.deep.equal(
      sepMatch(17, 'membership_healthy'),
    );
  });

  it('lets clusters and statistics go at fitTo once they outnumber the series, and classifies anew', () => {
    const m = new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)');
    for (let i = 0; i < 70_000; i++) m.classify(`e.external_cluster_sep${i}.s${i}`);
    m.fitTo(1000);
    expect(m.cachedParts).to.deep.equal({ clusters: 0, statistics: 0 });
    expect(m.classify('e.external_cluster_sep5.s5')).to.deep.equal(sepMatch(5, 's5'));
  });

  it('produces the same documents when the name cache starts over in the middle of a flush', () => {
    const { ingester, aggregator } = makePipeline();
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) {
      lines.push(`envoy.cluster.external_cluster_sep${i % 37}.stat_${i % 11}_${i % 5}:${i}|c`);
      lines.push(`envoy.cluster.external_cluster_sep${i % 23}.time_${i % 7}:${i}|ms`);
      lines.push(`envoy.cluster.external_cluster_sep${i % 19}.gauge_${i % 13}:${i}|g`);
    }
    send(ingester, lines.join('\n'));
    const snap = aggregator.snapshotAndReset(T, 10);
    const whole = encodeSnapshot(snap, new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)'), 1400);
    // A cache of 50 names starts over many times while the flush classifies ~1,200 names.
    const small = new SepMatcher('sep([0-9]+)', 'external_cluster_sep([0-9]+)', 50);
    const restarted = encodeSnapshot(snap, small, 1400);
    expect(small.cachedNames).to.be.below(50);
    expect(whole.documents.length).to.be.above(10);
    expect(restarted.documents.map((d) => d.payload.toString())).to.deep.equal(
      whole.documents.map((d) => d.payload.toString()),
    );
  });
});
