import { expect } from 'chai';
import { SepAgentBackend } from '../../../../src/backends/sepagent/sepagent-backend.js';
import { IngestStats } from '../../../../src/ingest/ingest-stats.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { SelfMetrics } from '../../../../src/telemetry/self-metrics.js';
import { FakeSepAgentListener } from '../../../support/fake-sepagent-listener.js';
import { metricValue } from '../../../support/daemon-harness.js';
import { makePipeline, send } from '../../../support/pipeline.js';

// "Where did my metric go": a series SepAgent has no place for is counted once per interval
// in which it received samples, with its reason, not again at every flush while the
// aggregator reports it idle until it expires.

describe('SepAgent: series left out are counted once per interval with samples, with a reason', () => {
  it('one line each: counted once over 30 flushes; the gauge shows them while they live', async () => {
    const agent = await FakeSepAgentListener.start();
    const p = makePipeline();
    const self = new SelfMetrics({
      stats: new IngestStats(),
      seriesCount: () => p.aggregator.seriesCount(),
      version: 't',
    });
    const b = new SepAgentBackend(
      {
        host: '127.0.0.1',
        port: agent.port,
        sepRegexp: 'sep([0-9]+)',
        clusterRegexp: 'external_cluster_sep([0-9]+)',
        maxDatagramBytes: 65507,
      },
      { name: 'sepagent', logger: silentLogger, clock: p.clock, metrics: self.backend('sepagent') },
    );
    await b.start();
    const flush = async (): Promise<void> => {
      p.clock.advance(1000);
      await b.flush(p.aggregator.snapshotAndReset(p.clock.now(), 1), AbortSignal.timeout(5000));
    };
    const read = async (series: string): Promise<number | undefined> =>
      metricValue(await self.registry.metrics(), series);
    try {
      send(
        p.ingester,
        [
          'envoy.cluster.external_cluster_sep1:5|c', // the cluster ends the name: no statistic
          'envoy.cluster.other_cluster.upstream_rq_total:1|c', // outside cluster_regexp
          'envoy.cluster.external_cluster_sep1.upstream_rq_total:1|c', // delivered
        ].join('\n'),
      );
      for (let i = 0; i < 30; i++) await flush();
      const total = 'statsd_sepagent_backend_series_left_out_total{backend="sepagent",reason=';
      expect(await read(`${total}"no_statistics"}`)).to.equal(1);
      expect(await read(`${total}"unmatched_name"}`)).to.equal(1);
      expect(await read(`${total}"sep_not_found"}`)).to.equal(undefined);
      expect(await read('statsd_sepagent_backend_series_left_out{backend="sepagent"}')).to.equal(2);
      // Samples again: counted again, once.
      send(p.ingester, 'envoy.cluster.external_cluster_sep1:1|c\nenvoy.cluster.external_cluster_sep1:2|c');
      await flush();
      await flush();
      expect(await read(`${total}"no_statistics"}`)).to.equal(2);
      // Nothing of this is a delivery failure.
      const dropped = (await self.registry.metrics()).match(/^statsd_sepagent_backend_items_dropped_total\{.*$/m);
      expect(dropped).to.equal(null);
      expect((await agent.waitForDocuments(1))[0]!.sep).to.equal('sep1');
    } finally {
      await b.shutdown();
      await agent.close();
    }
  });
});
