import { expect } from 'chai';
import { Registry } from 'prom-client';
import { noopBackendMetrics } from '../../../../src/backends/backend.js';
import { prometheusBackendFactory } from '../../../../src/backends/prometheus/index.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { AdminHttpServer } from '../../../../src/telemetry/http-server.js';
import { httpGet } from '../../../support/daemon-harness.js';
import { makePipeline, send } from '../../../support/pipeline.js';

describe('prometheus backend scraped for a large exposition', () => {
  it('serves one family of 40,000 series whole, in many chunks, without a warning', async () => {
    const http = new AdminHttpServer('127.0.0.1:0', {
      registry: new Registry(),
      logger: silentLogger,
      ready: () => true,
    });
    await http.start();
    const p = makePipeline();
    const backend = prometheusBackendFactory.create(
      { ...prometheusBackendFactory.defaultConfig(), path: '/prometheus' },
      { disabledSubMetrics: {} as never, maxSeries: 200_000, envoyTagExtraction: 'off' },
      { name: 'prometheus', logger: silentLogger, clock: p.clock, metrics: noopBackendMetrics, routes: http },
    );
    await backend.start();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      // One family of 40,000 series: 20 chunks, each larger than the socket's high-water mark.
      for (let i = 0; i < 40_000; i += 1000)
        send(p.ingester, Array.from({ length: 1000 }, (_, j) => `requests:1|c|#instance:i${i + j}`).join('\n'));
      await backend.flush(p.aggregator.snapshotAndReset(p.clock.now(), 1), new AbortController().signal);
      const page = await httpGet(http.address().port, '/prometheus');
      expect(page.status).to.equal(200);
      expect(page.body.match(/^requests\{instance="i\d+"\} 1$/gm)).to.have.length(40_000);
      await new Promise((r) => setImmediate(r));
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).to.deep.equal([]);
    } finally {
      process.off('warning', onWarning);
      await backend.shutdown();
      await http.shutdown();
    }
  });
});
