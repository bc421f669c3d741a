import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateSync } from 'node:zlib';
import { validateDatadogConfig } from '../../../../src/backends/datadog/config.js';
import { DatadogBackend } from '../../../../src/backends/datadog/datadog-backend.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { CountingMetrics } from '../../../support/backend-metrics.js';

describe('datadog backend: service checks to /api/v1/check_run (a real HTTP server)', () => {
  it('posts each check, compressed and with the API key, and counts it', async () => {
    const seen: Array<{ path: string; key: string; body: unknown }> = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = req.headers['content-encoding'] === 'deflate' ? inflateSync(raw).toString() : raw.toString();
        seen.push({ path: req.url ?? '', key: String(req.headers['dd-api-key']), body: JSON.parse(text) });
        res.writeHead(202).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const metrics = new CountingMetrics();
    const b = new DatadogBackend(
      validateDatadogConfig(
        { api_key: 'k3y', api_endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
        'datadog',
        [],
      ),
      { name: 'datadog', logger: silentLogger, clock: systemClock, metrics },
    );
    try {
      await b.sendServiceCheck(
        { name: 'redis.up', status: 1, timestamp: 1700000000, hostname: 'db1', message: 'slow', tags: ['env:prod'] },
        AbortSignal.timeout(5000),
      );
      expect(seen).to.deep.equal([
        {
          path: '/api/v1/check_run',
          key: 'k3y',
          body: {
            check: 'redis.up',
            host_name: 'db1',
            status: 1,
            timestamp: 1700000000,
            message: 'slow',
            tags: ['env:prod'],
          },
        },
      ]);
      expect(metrics.errors).to.deep.equal([]);
    } finally {
      await b.shutdown();
      server.close();
    }
  });
});
