import { expect } from 'chai';
import { Registry } from 'prom-client';
import { noopBackendMetrics } from '../../../../src/backends/backend.js';
import { prometheusBackendFactory } from '../../../../src/backends/prometheus/index.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { AdminHttpServer } from '../../../../src/telemetry/http-server.js';
import { httpGet, metricValue } from '../../../support/daemon-harness.js';
import { makePipeline, send } from '../../../support/pipeline.js';

describe('prometheus backend past its deadline', () => {
  it('applies the whole interval even when the deadline has passed: cumulative counters lose nothing', async () => {
    const http = new AdminHttpServer('127.0.0.1:0', {
      registry: new Registry(),
      logger: silentLogger,
      ready: () => true,
    });
    await http.start();
    const p = makePipeline();
    const backend = prometheusBackendFactory.create(
      prometheusBackendFactory.defaultConfig(),
      { disabledSubMetrics: {} as never, maxSeries: 200_000, envoyTagExtraction: 'off' },
      { name: 'prometheus', logger: silentLogger, clock: p.clock, metrics: noopBackendMetrics, routes: http },
    );
    await backend.start();
    try {
      // More series than one slice holds, so an abort would stop part-way.
      send(p.ingester, Array.from({ length: 3000 }, (_, i) => `c${i}:2|c`).join('\n'));
      const late = AbortSignal.abort();
      await backend.flush(p.aggregator.snapshotAndReset(p.clock.now(), 1), late);
      const page = (await httpGet(http.address().port, '/metrics')).body;
      let sum = 0;
      for (let i = 0; i < 3000; i++) sum += metricValue(page, `c${i}`) ?? 0;
      expect(sum).to.equal(6000);
    } finally {
      await backend.shutdown();
      await http.shutdown();
    }
  });
});
