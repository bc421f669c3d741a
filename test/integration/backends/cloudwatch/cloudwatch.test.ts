import { expect } from 'chai';
import http from 'node:http';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { CloudwatchBackend } from '../../../../src/backends/cloudwatch/cloudwatch-backend.js';
import { validateCloudwatchConfig } from '../../../../src/backends/cloudwatch/config.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { close } from '../../../../src/shared/listen.js';
import { createLogger } from '../../../../src/shared/logger.js';
import { CountingMetrics, flushOutcome } from '../../../support/backend-metrics.js';
import { makePipeline, send } from '../../../support/pipeline.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

interface Call {
  headers: http.IncomingHttpHeaders;
  body: { Namespace: string; MetricData: Array<Record<string, unknown>> };
}

/** A CloudWatch stand-in speaking the SDK's protocol (AWS JSON 1.0): records each PutMetricData. */
async function fakeCloudwatch(status = 200) {
  const calls: Call[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      calls.push({ headers: req.headers, body: JSON.parse(raw.toString()) as Call['body'] });
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        status === 200 ? '{}' : '{"__type":"InvalidParameterValueException","message":"The value NaN is invalid"}',
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    calls,
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => (server.closeAllConnections(), close(server)),
  };
}

describe('cloudwatch backend (AWS SDK v3) against a CloudWatch stand-in at the endpoint override', function () {
  this.timeout(20_000);
  const saved = { ...process.env };
  beforeEach(() => {
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIDEXAMPLE';
    process.env['AWS_SECRET_ACCESS_KEY'] = SECRET;
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
  });
  afterEach(() => {
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED'])
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  });

  function make(url: string, section: Record<string, unknown> = {}) {
    const log = new PassThrough();
    let logged = '';
    log.on('data', (d: Buffer) => (logged += d.toString()));
    const metrics = new CountingMetrics();
    const b = new CloudwatchBackend(
      validateCloudwatchConfig(
        { region: 'eu-west-1', endpoint: url, namespace: 'Shop', max_retries: 0, ...section },
        'cloudwatch',
        [],
      ),
      {
        name: 'cloudwatch',
        logger: createLogger({ format: 'json', level: 'info', destination: log }),
        clock: systemClock,
        metrics,
      },
    );
    return { b, metrics, logged: () => logged };
  }

  it("signs PutMetricData (SigV4) and sends gostatsd's names, dimensions and values in batches of 20", async () => {
    const cw = await fakeCloudwatch();
    const { b, metrics, logged } = make(cw.url);
    await b.start();
    const p = makePipeline({ percentThresholds: [90] });
    send(
      p.ingester,
      'orders:3|c|#region:eu,canary\nlat:10|ms|#region:eu\nlat:30|ms|#region:eu\nqueue:7|g\nusers:a|s\nb1:1|c\nb2:1|c\nb3:1|c\nb4:1|c\nb5:1|c',
    );
    await b.flush(p.aggregator.snapshotAndReset(1_556_100_400_000, 2), AbortSignal.timeout(30_000));
    await b.shutdown();
    await cw.close();
    expect(metrics.errors).to.deep.equal([]);
    // 6 counters × 2 + a timer's 9 sub-metrics and 5 percentile values + a gauge + a set = 28.
    expect(cw.calls.map((c) => c.body.MetricData.length)).to.deep.equal([20, 8]);
    const auth = String(cw.calls[0]!.headers['authorization']);
    expect(auth).to.match(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/monitoring\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/,
    );
    expect(cw.calls[0]!.headers['x-amz-target']).to.equal('GraniteServiceVersion20100801.PutMetricData');
    const data = cw.calls.flatMap((c) => c.body.MetricData);
    expect(cw.calls[0]!.body.Namespace).to.equal('Shop');
    const byName = new Map(data.map((d) => [d['MetricName'] as string, d]));
    expect(byName.get('stats.counter.orders.count')).to.deep.include({
      Value: 3,
      Unit: 'Count',
      Dimensions: [
        { Name: 'canary', Value: 'set' },
        { Name: 'region', Value: 'eu' },
      ],
    });
    expect(byName.get('stats.counter.orders.per_second')).to.deep.include({ Value: 1.5, Unit: 'Count/Second' });
    expect(byName.get('stats.timers.lat.mean')).to.deep.include({ Value: 20, Unit: 'Milliseconds' });
    expect(byName.get('stats.timers.lat.upper_90')).to.deep.include({ Value: 30 });
    expect(byName.get('stats.gauge.queue')).to.deep.include({ Value: 7, Unit: 'None', Dimensions: [] });
    expect(byName.get('stats.set.users')).to.deep.include({ Value: 1 });
    expect(byName.get('stats.gauge.queue')!['Timestamp']).to.equal(1556100400);
    expect(logged()).to.not.contain(SECRET);
  });

  it('a 4xx is counted as rejected and its message logged once; the secret key never', async () => {
    const cw = await fakeCloudwatch(400);
    const { b, metrics, logged } = make(cw.url);
    await b.start();
    const p = makePipeline();
    send(p.ingester, 'a:1|c');
    expect(
      await flushOutcome(b.flush(p.aggregator.snapshotAndReset(1_556_100_400_000, 1), AbortSignal.timeout(30_000))),
    ).to.equal('cloudwatch: 1 PutMetricData requests not delivered');
    await b.shutdown();
    await cw.close();
    expect(metrics.drops).to.deep.equal({ rejected: 2 });
    expect(metrics.errors).to.deep.equal(['HTTP_400']);
    expect(logged()).to.contain('The value NaN is invalid');
    expect(logged()).to.not.contain(SECRET);
  });

  it('without credentials it does not start, and says where it looked', async () => {
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
    process.env['AWS_SHARED_CREDENTIALS_FILE'] = '/nonexistent';
    process.env['AWS_CONFIG_FILE'] = '/nonexistent';
    try {
      const { b } = make('http://127.0.0.1:9');
      const err = await b.start().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).to.contain('cloudwatch: no AWS credentials');
    } finally {
      delete process.env['AWS_SHARED_CREDENTIALS_FILE'];
      delete process.env['AWS_CONFIG_FILE'];
    }
  });
});
