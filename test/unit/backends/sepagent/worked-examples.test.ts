import { expect } from 'chai';
import { encodeSnapshot } from '../../../../src/backends/sepagent/encode.js';
import { SepMatcher } from '../../../../src/backends/sepagent/sep-matcher.js';
import { MAX_UDP_PAYLOAD_BYTES } from '../../../../src/backends/sepagent/config.js';
import { SEPAGENT_EXAMPLES } from '../../../fixtures/sepagent-examples.js';
import { makePipeline } from '../../../support/pipeline.js';

const FLUSH_MS = 1_556_100_410_000;

describe('SepAgent backend: the worked examples of the reference', () => {
  for (const ex of SEPAGENT_EXAMPLES) {
    it(`${ex.name}: byte-identical documents`, () => {
      const { ingester, aggregator, clock } = makePipeline({ percentThresholds: ex.percentThresholds });
      const matcher = new SepMatcher(ex.sepRegexp, ex.clusterRegexp);
      clock.setNow(FLUSH_MS - 5000);
      for (const d of ex.datagrams) {
        ingester.ingestDatagram(Buffer.from(d.lines.join('\n')), d.from);
        clock.setNow(clock.now() + 1);
      }
      ex.flushes.forEach((expected, i) => {
        const snapshot = aggregator.snapshotAndReset(FLUSH_MS + i * 10_000, 10);
        const { documents } = encodeSnapshot(snapshot, matcher, MAX_UDP_PAYLOAD_BYTES);
        expect(
          documents.map((d) => d.payload.toString('utf8')),
          `flush ${i + 1}`,
        ).to.deep.equal(expected);
      });
    });
  }

  it('E7a reports the cluster-at-end-of-key gauge as one series left out (no_statistics)', () => {
    const ex = SEPAGENT_EXAMPLES.find((e) => e.name.startsWith('E7a'))!;
    const { ingester, aggregator } = makePipeline();
    for (const d of ex.datagrams) ingester.ingestDatagram(Buffer.from(d.lines.join('\n')), d.from);
    const r = encodeSnapshot(
      aggregator.snapshotAndReset(FLUSH_MS, 10),
      new SepMatcher(ex.sepRegexp, ex.clusterRegexp),
      65507,
    );
    expect(r.dropped).to.deep.equal({ non_finite: 0, too_large: 0 });
    expect(r.leftOut).to.deep.include({ sep_not_found: 0, no_statistics: 1 });
  });

  it('E7b: IsSep passes but no SEP id inside the cluster → nothing sent, each series counted once with its reason', () => {
    const { ingester, aggregator } = makePipeline();
    ingester.ingestDatagram(Buffer.from('envoy.cluster.external_cluster_web.sep9_total:1|c'), '10.0.0.5');
    ingester.ingestDatagram(Buffer.from('envoy.cluster.external_cluster_web.upstream_rq_total:1|c'), '10.0.0.5');
    const r = encodeSnapshot(
      aggregator.snapshotAndReset(FLUSH_MS, 10),
      new SepMatcher('sep([0-9]+)', 'external_cluster_[a-z]+'),
      65507,
    );
    expect(r.documents).to.have.length(0);
    expect(r.leftOut).to.deep.equal({ sep_not_found: 1, no_statistics: 0, unmatched_name: 1 });
    expect(r.leftOutSeries).to.equal(2);
    expect(r.examples.sep_not_found).to.equal('envoy.cluster.external_cluster_web.sep9_total');
    expect(r.examples.unmatched_name).to.equal('envoy.cluster.external_cluster_web.upstream_rq_total');
  });
});
