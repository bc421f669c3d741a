import { expect } from 'chai';
import http from 'node:http';
import { validateNewRelicConfig } from '../../../../src/backends/newrelic/config.js';
import { NewRelicBackend } from '../../../../src/backends/newrelic/newrelic-backend.js';
import { COMPONENTS } from '../../../../src/daemon/components.js';
import { validateConfig } from '../../../../src/config/validate.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { close } from '../../../../src/shared/listen.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { CountingMetrics, flushOutcome } from '../../../support/backend-metrics.js';
import { makePipeline, send } from '../../../support/pipeline.js';

/** A stand-in for New Relic's endpoints: records each request's headers and body. */
async function endpoint(status = 200) {
  const seen: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      seen.push({ url: req.url!, headers: req.headers, body });
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(status === 200 ? '{"success":true}' : '{"error":"Invalid API key"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { seen, base, close: () => (server.closeAllConnections(), close(server)) };
}

async function flushOne(section: Record<string, unknown>) {
  const metrics = new CountingMetrics();
  const b = new NewRelicBackend(validateNewRelicConfig(section, 'newrelic', []), {
    name: 'newrelic',
    logger: silentLogger,
    clock: systemClock,
    metrics,
  });
  const p = makePipeline({ percentThresholds: [90] });
  send(p.ingester, 'api.requests:3|c|#route:login,code:500');
  const outcome = await flushOutcome(
    b.flush(p.aggregator.snapshotAndReset(1_556_100_400_000, 10), AbortSignal.timeout(30_000)),
  );
  await b.shutdown();
  return Object.assign(metrics, { outcome });
}

describe('newrelic backend against stand-ins of its two targets', () => {
  it('the Infrastructure agent: an HTTP integration payload (protocol 2) as its documentation shows', async () => {
    const e = await endpoint();
    await flushOne({ address: `${e.base}/v1/data` });
    await e.close();
    expect(e.seen[0]!.url).to.equal('/v1/data');
    expect(e.seen[0]!.headers['x-insert-key']).to.equal(undefined);
    expect(JSON.parse(e.seen[0]!.body)).to.deep.equal({
      name: 'com.newrelic.gostatsd',
      protocol_version: '2',
      integration_version: '2.0.0',
      data: [
        {
          metrics: [
            {
              event_type: 'GoStatsD',
              interval: 10,
              timestamp: 1556100400,
              code: 500,
              route: 'login',
              host: '10.0.0.5',
              name: 'api.requests',
              type: 'counter',
              value: 3,
              per_second: 0.3,
            },
          ],
        },
      ],
    });
  });

  it('the Insights insert API: an array of events with eventType, the key in X-Insert-Key, attribute names as configured', async () => {
    const e = await endpoint();
    await flushOne({
      address: `${e.base}/v1/accounts/12345/events`,
      'api-key': 'NRII-abc123',
      'event-type': 'Envoy',
      'metric-name': 'metric',
      'tag-prefix': 'tag.',
    });
    await e.close();
    expect(e.seen[0]!.headers['x-insert-key']).to.equal('NRII-abc123');
    expect(e.seen[0]!.headers['content-type']).to.equal('application/json');
    expect(JSON.parse(e.seen[0]!.body)).to.deep.equal([
      {
        eventType: 'Envoy',
        interval: 10,
        timestamp: 1556100400,
        'tag.code': 500,
        'tag.route': 'login',
        host: '10.0.0.5',
        metric: 'api.requests',
        type: 'counter',
        value: 3,
        per_second: 0.3,
      },
    ]);
  });

  it('a 4xx is counted as rejected, not retried', async () => {
    const e = await endpoint(403);
    const m = await flushOne({ address: `${e.base}/v1/accounts/1/events`, 'api-key': 'k1' });
    await e.close();
    expect(e.seen).to.have.length(1);
    expect(m.drops).to.deep.equal({ rejected: 1 });
    expect(m.outcome).to.equal('newrelic: 1 of 1 requests not delivered');
  });

  it('changes the default flush interval to 10 s, as gostatsd does (an explicit one wins)', () => {
    expect(validateConfig({ backends: 'newrelic' }, COMPONENTS).config!.flushIntervalMs).to.equal(10_000);
    expect(
      validateConfig({ backends: 'newrelic', 'flush-interval': '2s' }, COMPONENTS).config!.flushIntervalMs,
    ).to.equal(2000);
  });
});
