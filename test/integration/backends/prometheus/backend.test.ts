import { expect } from 'chai';
import { Registry } from 'prom-client';
import { noopBackendMetrics, type Backend } from '../../../../src/backends/backend.js';
import { prometheusBackendFactory } from '../../../../src/backends/prometheus/index.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { AdminHttpServer } from '../../../../src/telemetry/http-server.js';
import { httpGet, metricValue } from '../../../support/daemon-harness.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { testSharedSettings } from '../../../support/shared-settings.js';

/** A prometheus backend served by a real admin server, fed by the real pipeline. */
async function withBackend(
  path: string,
  run: (
    b: Backend,
    p: ReturnType<typeof makePipeline>,
    scrape: () => Promise<{ status: number; body: string }>,
  ) => Promise<void>,
): Promise<void> {
  const http = new AdminHttpServer('127.0.0.1:0', {
    registry: new Registry(),
    logger: silentLogger,
    ready: () => true,
  });
  await http.start();
  const p = makePipeline();
  const backend = prometheusBackendFactory.create(
    { ...prometheusBackendFactory.defaultConfig(), path },
    testSharedSettings(200_000),
    { name: 'prometheus', logger: silentLogger, clock: p.clock, metrics: noopBackendMetrics, routes: http },
  );
  await backend.start();
  try {
    await run(backend, p, () => httpGet(http.address().port, path));
  } finally {
    await backend.shutdown();
    await http.shutdown();
  }
}

describe('prometheus backend', () => {
  it('applies the whole interval even when the deadline has passed: cumulative counters lose nothing', async () => {
    await withBackend('/metrics', async (backend, p, scrape) => {
      // More series than one slice holds, so an abort would stop part-way.
      send(p.ingester, Array.from({ length: 3000 }, (_, i) => `c${i}:2|c`).join('\n'));
      await backend.flush(p.aggregator.snapshotAndReset(p.clock.now(), 1), AbortSignal.abort());
      const page = (await scrape()).body;
      let sum = 0;
      for (let i = 0; i < 3000; i++) sum += metricValue(page, `c${i}`) ?? 0;
      expect(sum).to.equal(6000);
    });
  });

  it('serves one family of 40,000 series whole, in many chunks, without a warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      await withBackend('/prometheus', async (backend, p, scrape) => {
        // 20 chunks, each larger than the socket's high-water mark.
        for (let i = 0; i < 40_000; i += 1000)
          send(p.ingester, Array.from({ length: 1000 }, (_, j) => `requests:1|c|#instance:i${i + j}`).join('\n'));
        await backend.flush(p.aggregator.snapshotAndReset(p.clock.now(), 1), new AbortController().signal);
        const page = await scrape();
        expect(page.status).to.equal(200);
        expect(page.body.match(/^requests\{instance="i\d+"\} 1$/gm)).to.have.length(40_000);
        await new Promise((r) => setImmediate(r));
      });
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).to.deep.equal([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
