import { expect } from 'chai';
import { prometheusBackendFactory } from '../../../../src/backends/prometheus/index.js';
import { IngestStats } from '../../../../src/ingest/ingest-stats.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { SelfMetrics } from '../../../../src/telemetry/self-metrics.js';
import { metricValue } from '../../../support/daemon-harness.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { testSharedSettings } from '../../../support/shared-settings.js';

// The Prometheus store's refusals: counted once per series per interval with samples (items
// dropped, by reason), and the series the last flush had no place for in a gauge.

describe('Prometheus: series the mapping drops or the store refuses', () => {
  it('are counted once per interval with samples, and the last flush’s count is a gauge', async () => {
    const p = makePipeline();
    const self = new SelfMetrics({
      stats: new IngestStats(),
      seriesCount: () => p.aggregator.seriesCount(),
      version: 't',
    });
    const issues: never[] = [];
    const cfg = prometheusBackendFactory.validate(
      { mapping: 'mappings:\n  - match: "noise.*"\n    action: drop\n    name: "x"\n' },
      'prometheus',
      issues,
    );
    expect(issues).to.deep.equal([]);
    const b = prometheusBackendFactory.create(cfg, testSharedSettings(1000), {
      name: 'prometheus',
      logger: silentLogger,
      clock: p.clock,
      metrics: self.backend('prometheus'),
    });
    const read = async (series: string): Promise<number | undefined> =>
      metricValue(await self.registry.metrics(), series);
    const gauge = 'statsd_sepagent_backend_series_left_out{backend="prometheus"}';
    expect(await read(gauge)).to.equal(0);
    const flush = async (): Promise<void> => {
      p.clock.advance(1000);
      await b.flush(p.aggregator.snapshotAndReset(p.clock.now(), 1), AbortSignal.timeout(5000));
    };
    send(p.ingester, ['noise.a:1|c', 'level:1|g', 'level:1|c', 'ok:1|c'].join('\n'));
    for (let i = 0; i < 10; i++) await flush();
    const dropped = 'statsd_sepagent_backend_items_dropped_total{backend="prometheus",reason=';
    expect(await read(`${dropped}"mapping_drop"}`)).to.equal(1);
    expect(await read(`${dropped}"type_conflict"}`)).to.equal(1);
    // The gauge still counts them while the aggregator reports them (the idle gauge too).
    expect(await read(gauge)).to.equal(2);
  });
});
