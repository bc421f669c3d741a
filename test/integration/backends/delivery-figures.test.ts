import { expect } from 'chai';
import http from 'node:http';
import { BACKEND_FACTORIES } from '../../../src/backends/registry.js';
import { Flusher } from '../../../src/flusher/flusher.js';
import { IngestStats } from '../../../src/ingest/ingest-stats.js';
import { close } from '../../../src/shared/listen.js';
import { systemClock, type Clock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { SelfMetrics } from '../../../src/telemetry/self-metrics.js';
import { makePipeline, send } from '../../support/pipeline.js';
import { testSharedSettings } from '../../support/shared-settings.js';

/** Every push backend, its section pointing at `url`, retrying for at most 1 s. */
const PUSH: Record<string, (url: string) => Record<string, unknown>> = {
  datadog: (url) => ({ api_key: 'k', api_endpoint: url, max_request_elapsed_time: '1s', client_timeout: '2s' }),
  newrelic: (url) => ({ address: url, max_request_elapsed_time: '1s', client_timeout: '2s' }),
  forwarder: (url) => ({
    'api-endpoint': url,
    'flush-interval': '10ms',
    'max-request-elapsed-time': '1s',
    'client-timeout': '2s',
  }),
  'prometheus-remote-write': (url) => ({ url, 'max-request-elapsed-time': '1s', timeout: '2s' }),
  // Retried max_retries times by the shared loop; the AWS SDK signs and makes one attempt.
  cloudwatch: (url) => ({
    region: 'eu-west-1',
    endpoint: url,
    namespace: 'Shop',
    max_retries: 2,
    client_timeout: '2s',
  }),
};

/** An endpoint that answers every request after `delayMs` with `status`. */
async function endpoint(status: number, delayMs: number) {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => {
      const t = setTimeout(() => res.writeHead(status).end(), delayMs);
      res.on('close', () => clearTimeout(t));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await close(server);
    },
  };
}

/** One interval through the real Flusher to `type`, with the daemon's self-metrics; the flusher's figures. */
async function flushOnce(type: string, url: string) {
  const f = BACKEND_FACTORIES.get(type)!;
  const p = makePipeline();
  const metrics = new SelfMetrics({
    stats: new IngestStats(),
    seriesCount: () => p.aggregator.seriesCount(),
    version: 't',
  });
  const issues: unknown[] = [];
  const b = f.create(f.validate(PUSH[type]!(url), type, issues as never[]), testSharedSettings(1000), {
    name: type,
    logger: silentLogger,
    clock: systemClock,
    metrics: metrics.backend(type),
  });
  expect(issues).to.deep.equal([]);
  await b.start();
  // A flush interval far shorter than the delivery: the figures must still be the delivery's.
  // The cut is taken one second after the flusher starts (the forwarder posts once its own
  // 1 s interval has passed): the clock is the system's, one second ahead once started.
  let ahead = 0;
  const clock: Clock = {
    now: () => systemClock.now(),
    monotonicMs: () => systemClock.monotonicMs() + ahead,
    every: (ms, fn) => systemClock.every(ms, fn),
    after: (ms, fn) => systemClock.after(ms, fn),
    timeout: (ms) => systemClock.timeout(ms),
  };
  const flusher = new Flusher(
    { flushIntervalMs: 100 },
    {
      aggregator: p.aggregator,
      backends: () => [b],
      clock,
      logger: silentLogger,
      metrics: metrics.flusher(),
    },
  );
  send(p.ingester, 'hits:1|c|#route:a\nlat:5|ms');
  ahead = 1000;
  await flusher.flushNow();
  await b.shutdown();
  const results = Object.fromEntries(
    (await metrics.backendFlushes.get()).values.map((v) => [String(v.labels['result']), v.value]),
  );
  const duration = (await metrics.registry.getSingleMetric('statsd_sepagent_backend_flush_duration_seconds')!.get())
    .values;
  const sum = duration.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value ?? 0;
  const dropped = (await metrics.registry.getSingleMetric('statsd_sepagent_backend_items_dropped_total')!.get()).values;
  return { results, seconds: sum, dropped: dropped.reduce((n, v) => n + v.value, 0) };
}

describe("push backends: the flusher's figures are the real delivery's (slow and failing endpoints)", function () {
  this.timeout(60_000);
  // CloudWatch's stand-in takes any signature; the SDK needs credentials to sign at all.
  const AWS_ENV = {
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'example',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const saved = Object.fromEntries(Object.keys(AWS_ENV).map((k) => [k, process.env[k]]));
  before(() => Object.assign(process.env, AWS_ENV));
  after(() => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  for (const type of Object.keys(PUSH)) {
    it(`${type}: a slow endpoint (600 ms) is a success of 0.6 s or more, not a timeout at the 100 ms interval`, async () => {
      const e = await endpoint(200, 600);
      try {
        const r = await flushOnce(type, e.url);
        expect(r.results).to.deep.equal({ success: 1 });
        expect(r.seconds).to.be.at.least(0.6);
        expect(r.dropped).to.equal(0);
        expect(e.requests()).to.be.at.least(1);
      } finally {
        await e.close();
      }
    });

    it(`${type}: a failing endpoint (503) is retried for its budget, then a failure with its items counted as dropped`, async () => {
      const e = await endpoint(503, 0);
      try {
        const r = await flushOnce(type, e.url);
        expect(r.results).to.deep.equal({ failure: 1 });
        expect(r.seconds).to.be.at.least(0.2); // at least one back-off wait
        expect(r.dropped).to.be.greaterThan(0);
        expect(e.requests(), 'retried').to.be.at.least(2);
      } finally {
        await e.close();
      }
    });
  }
});
