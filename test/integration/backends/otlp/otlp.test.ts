import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { validateOtlpConfig } from '../../../../src/backends/otlp/config.js';
import { OtlpBackend } from '../../../../src/backends/otlp/otlp-backend.js';
import type { SharedBackendSettings } from '../../../../src/backends/backend.js';
import type { StatsdEvent } from '../../../../src/parser/sample.js';
import type { ConfigIssue } from '../../../../src/shared/errors.js';
import { createLogger } from '../../../../src/shared/logger.js';
import { CountingMetrics, flushOutcome } from '../../../support/backend-metrics.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { OtlpReceiver, type Point } from '../../../support/otlp-receiver.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { testSharedSettings } from '../../../support/shared-settings.js';
import { waitFor } from '../../../support/wait-for.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0, 250);
const NANOS = (ms: number): bigint => BigInt(ms) * 1_000_000n;

function make(url: string, section: Record<string, unknown> = {}, shared: Partial<SharedBackendSettings> = {}) {
  const issues: ConfigIssue[] = [];
  const config = validateOtlpConfig({ metrics_endpoint: url, ...section }, 'otlp', issues);
  expect(issues.filter((i) => i.severity === 'error')).to.deep.equal([]);
  const metrics = new CountingMetrics();
  const log = new PassThrough();
  let logged = '';
  log.on('data', (d: Buffer) => (logged += d.toString()));
  const clock = new ManualClock(T0);
  const b = new OtlpBackend(
    config,
    { ...testSharedSettings(10_000), ...shared },
    {
      name: 'otlp',
      logger: createLogger({ format: 'json', level: 'info', destination: log }),
      clock,
      metrics,
      random: () => 0.5,
    },
  );
  return { b, metrics, clock, logged: () => logged };
}

/** One interval of `lines`, cut at T0 after 10 s. */
function interval(lines: string, agg: Record<string, unknown> = {}) {
  const p = makePipeline({ percentThresholds: [90], ...agg });
  p.clock.setNow(T0 - 5000);
  send(p.ingester, lines);
  return p.aggregator.snapshotAndReset(T0, 10);
}

/** The value at a rank of an exponential histogram's positive buckets: which bucket holds value `v`. */
function bucketOf(scale: number, v: number): number {
  // Bucket i holds (base^i, base^(i+1)], base = 2^(2^-scale).
  return Math.ceil(Math.log2(v) * 2 ** scale) - 1;
}

function find(points: Point[], name: string, attrs: Record<string, unknown> = {}): Point {
  const p = points.find((x) => x.name === name && Object.entries(attrs).every(([k, v]) => x.attributes[k] === v));
  if (p === undefined)
    throw new Error(`no point ${name} ${JSON.stringify(attrs)} in ${points.map((x) => x.name).join(' ')}`);
  return p;
}

describe('otlp backend into an OTLP/HTTP receiver (decoded independently, from the protocol definitions)', function () {
  this.timeout(20_000);
  let rx: OtlpReceiver;
  beforeEach(async () => {
    rx = await OtlpReceiver.start();
  });
  afterEach(async () => {
    expect(rx.undecodable).to.deep.equal([]);
    await rx.close();
  });

  const LINES = [
    'web.hits:3|c|#route:a,env:prod',
    'web.hits:2|c|@0.5|#route:a,env:prod',
    'web.hits:-1|c|#route:b,env:prod',
    'web.depth:7.5|g|#env:prod',
    'web.users:x|s|#env:prod',
    'web.users:y|s|#env:prod',
    'web.users:x|s|#env:prod',
    'web.lat:1|ms|#env:prod',
    'web.lat:2|ms|#env:prod',
    'web.lat:4|ms|#env:prod',
    'web.lat:0|ms|#env:prod',
    'web.tagged:1|c|#flag,route:a,route:b',
  ].join('\n');

  for (const encoding of ['protobuf', 'json'] as const)
    for (const compress of [true, false])
      it(`every kind with exact values, temporality, timestamps, attributes and resource (${encoding}, compress_payload = ${compress})`, async () => {
        const { b, metrics } = make(
          rx.url,
          {
            encoding,
            compress_payload: compress,
            resource_keys: ['env'],
            resource_attributes: { 'service.name': 'checkout' },
          },
          { podTags: { tags: ['pod:web-1'], resource: { 'k8s.pod.name': 'web-1' } } },
        );
        const snap = interval(
          LINES.split('\n')
            .map((l) => `${l}${l.includes('#') ? ',' : '|#'}pod:web-1`)
            .join('\n'),
        );
        await b.flush(snap, AbortSignal.timeout(5000));
        expect(rx.received).to.have.length(1);
        const r = rx.received[0]!;
        expect(r.path).to.equal('/v1/metrics');
        expect(r.headers['content-type']).to.equal(encoding === 'json' ? 'application/json' : 'application/x-protobuf');
        expect(r.headers['content-encoding']).to.equal(compress ? 'gzip' : undefined);
        const pts = rx.points;
        const start = NANOS(T0 - 10_000);
        const end = NANOS(T0);
        for (const p of pts) {
          expect(p.startNanos, p.name).to.equal(start);
          expect(p.timeNanos, p.name).to.equal(end);
          expect(p.scope).to.equal('statsd-sepagent/aggregation');
          expect(p.attributes).to.not.have.property('pod');
        }
        const prod = { 'service.name': 'checkout', 'k8s.pod.name': 'web-1', env: 'prod' };
        const a = find(pts, 'web.hits', { route: 'a' });
        expect(a).to.include({ kind: 'sum', temporality: 1, monotonic: false, value: 7, isInt: true });
        expect(a.resource).to.deep.equal(prod);
        expect(a.attributes).to.deep.equal({ route: 'a', host: '10.0.0.5' });
        // One metric per name: -1 in the interval makes the sum non-monotonic for both points.
        expect(find(pts, 'web.hits', { route: 'b' })).to.include({ value: -1, monotonic: false });
        expect(find(pts, 'web.depth')).to.include({ kind: 'gauge', value: 7.5, isInt: false });
        expect(find(pts, 'web.users')).to.include({ kind: 'gauge', value: 2, isInt: true });
        const tagged = find(pts, 'web.tagged');
        expect(tagged).to.include({ kind: 'sum', monotonic: true, value: 1 });
        expect(tagged.attributes).to.deep.equal({ flag: '', route: ['a', 'b'], host: '10.0.0.5' });
        expect(tagged.resource).to.deep.equal({ 'service.name': 'checkout', 'k8s.pod.name': 'web-1' });
        const lat = find(pts, 'web.lat');
        expect(lat).to.include({ kind: 'exponentialHistogram', temporality: 1, unit: 'ms', sum: 7, min: 0, max: 4 });
        expect(lat.count).to.equal(4n);
        expect(lat.zeroCount).to.equal(1n);
        const counts = new Map<number, bigint>();
        lat.positive!.bucketCounts.forEach((c, i) => c > 0n && counts.set(lat.positive!.offset + i, c));
        const want = new Map<number, bigint>();
        for (const v of [1, 2, 4]) want.set(bucketOf(lat.scale!, v), (want.get(bucketOf(lat.scale!, v)) ?? 0n) + 1n);
        expect(counts).to.deep.equal(want);
        expect(metrics.items).to.equal(pts.length);
        expect(metrics.drops).to.deep.equal({});
        await b.shutdown();
      });

  it('timers past timer-exact-values: the folded histogram, count, sum, min and max exact', async () => {
    const { b } = make(rx.url);
    const values = Array.from({ length: 5000 }, (_, i) => 1 + (i % 997) / 10);
    const snap = interval(values.map((v) => `big.lat:${v}|ms`).join('\n'), { timerExactValues: 100 });
    expect(snap.timers[0]!.histogram).to.not.equal(undefined);
    await b.flush(snap, AbortSignal.timeout(5000));
    const p = find(rx.points, 'big.lat');
    expect(p.count).to.equal(5000n);
    expect(p.sum).to.be.closeTo(
      values.reduce((x, y) => x + y, 0),
      1e-6,
    );
    expect(p.min).to.equal(1);
    expect(p.max).to.equal(100.6);
    const total = p.positive!.bucketCounts.reduce((x, y) => x + y, 0n) + p.zeroCount!;
    expect(total).to.equal(5000n);
    expect(p.positive!.bucketCounts.length).to.be.at.most(160);
    await b.shutdown();
  });

  it('conversion = "AsHistogram" with histogram_buckets, and "AsGauge" with disabled_timer_aggregations', async () => {
    const h = make(`${rx.url}/v1/metrics`, { conversion: 'AsHistogram', histogram_buckets: [1, 3] });
    await h.b.flush(interval('h.lat:1|ms\nh.lat:2|ms\nh.lat:4|ms\nh.lat:5|ms'), AbortSignal.timeout(5000));
    const hp = find(rx.points, 'h.lat');
    expect(hp).to.include({ kind: 'histogram', temporality: 1, sum: 12, min: 1, max: 5 });
    expect(hp.count).to.equal(4n);
    expect(hp.explicitBounds).to.deep.equal([1, 3]);
    expect(hp.bucketCounts).to.deep.equal([1n, 1n, 2n]);
    const g = make(rx.url, { conversion: 'AsGauge', disabled_timer_aggregations: { sumsquares: true, meanpct: true } });
    await g.b.flush(interval('g.lat:10|ms\ng.lat:30|ms'), AbortSignal.timeout(5000));
    const names = rx.points.filter((p) => p.name.startsWith('g.lat')).map((p) => p.name);
    expect(names).to.deep.equal([
      'g.lat.lower',
      'g.lat.upper',
      'g.lat.count',
      'g.lat.count_ps',
      'g.lat.mean',
      'g.lat.median',
      'g.lat.std',
      'g.lat.sum',
      'g.lat.count_90',
      'g.lat.sum_90',
      'g.lat.sum_squares_90',
      'g.lat.upper_90',
    ]);
    expect(find(rx.points, 'g.lat.count')).to.include({ kind: 'gauge', value: 2, isInt: true });
    expect(find(rx.points, 'g.lat.upper')).to.include({ value: 30, isInt: false });
    await h.b.shutdown();
    await g.b.shutdown();
  });

  it('events as log records on /v1/logs: body, title, properties, severity, time, tags and resource', async () => {
    const { b, clock } = make(rx.url, { resource_keys: ['env'], event_title_attribute_key: 'event.title' });
    clock.setNow(T0);
    const e: StatsdEvent = {
      title: 'deploy',
      text: 'v2 rolled out',
      dateHappened: 1_700_000_000,
      hostname: 'web-1',
      aggregationKey: 'rollout',
      priority: 'low',
      sourceTypeName: 'ci',
      alertType: 'error',
      tags: ['env:prod', 'team:core'],
    };
    await b.sendEvent(e, AbortSignal.timeout(5000));
    expect(rx.received.map((r) => r.path)).to.deep.equal(['/v1/logs']);
    const [log] = rx.logs;
    expect(log).to.deep.include({
      resource: { env: 'prod' },
      timeNanos: 1_700_000_000n * 1_000_000_000n,
      observedNanos: NANOS(T0),
      severityNumber: 17,
      severityText: 'ERROR',
      body: 'v2 rolled out',
    });
    expect(log!.attributes).to.deep.equal({
      team: 'core',
      host: 'web-1',
      'event.title': 'deploy',
      properties: { priority: 'low', alert_type: 'error', aggregation_key: 'rollout', source_type_name: 'ci' },
    });
    await b.shutdown();
  });

  it('batches by metrics_per_batch data points, max_requests at once', async () => {
    const { b, metrics } = make(rx.url, { metrics_per_batch: 2, max_requests: 2 });
    await b.flush(interval('a:1|c\nb:2|c\nc:3|g\nd:4|g\ne:x|s'), AbortSignal.timeout(5000));
    expect(rx.received.map((r) => r.points.length)).to.deep.equal([2, 2, 1]);
    expect(rx.points.map((p) => p.name).sort()).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(metrics.requests).to.equal(3);
    await b.shutdown();
  });

  it('retries 503 and 429 no sooner than Retry-After, then delivers; counts every failed attempt', async () => {
    const { b, metrics, clock } = make(rx.url, { max_retries: 3, max_request_elapsed_time: 60 });
    rx.answers.push({ status: 503 }, { status: 429, headers: { 'retry-after': '7' } });
    const done = b.flush(interval('r.hits:5|c'), AbortSignal.timeout(10_000));
    // First wait: gostatsd's back-off (0.5 s at the middle draw); second: Retry-After's 7 s.
    await waitFor(() => metrics.errors.length === 1 && clock.pendingTimers === 1);
    clock.advance(500);
    await waitFor(() => metrics.errors.length === 2 && clock.pendingTimers === 1);
    clock.advance(6999);
    expect(rx.received).to.have.length(0);
    clock.advance(1);
    await done;
    expect(find(rx.points, 'r.hits').value).to.equal(5);
    expect(metrics.errors).to.deep.equal(['HTTP_503', 'HTTP_429']);
    expect(metrics.items).to.equal(1);
    await b.shutdown();
  });

  it('max_retries bounds the attempts; a 400 is dropped at once; the receiver message is logged', async () => {
    const { b, metrics, clock, logged } = make(rx.url, { max_retries: 1 });
    rx.defaultAnswer = { status: 503 };
    const first = flushOutcome(b.flush(interval('x:1|c'), AbortSignal.timeout(10_000)));
    await waitFor(() => metrics.errors.length === 1 && clock.pendingTimers === 1);
    clock.advance(1000);
    expect(await first).to.match(/1 of 1 requests not delivered/);
    expect(metrics.errors).to.deep.equal(['HTTP_503', 'HTTP_503']);
    expect(metrics.drops).to.deep.equal({ retry_expired: 1 });
    rx.defaultAnswer = { status: 400, body: 'bad metric name' };
    expect(await flushOutcome(b.flush(interval('y:1|c'), AbortSignal.timeout(10_000)))).to.match(/not delivered/);
    expect(metrics.drops).to.deep.equal({ retry_expired: 1, rejected: 1 });
    expect(logged()).to.include('bad metric name');
    await b.shutdown();
  });

  for (const encoding of ['protobuf', 'json'] as const)
    it(`a partial success counts the refused points as rejected and is not retried (${encoding})`, async () => {
      const { b, metrics, logged } = make(rx.url, { encoding });
      rx.answers.push({ status: 200, partial: { rejected: 2, message: 'points too old' } });
      await b.flush(interval('p:1|c\nq:2|c\nr:3|c'), AbortSignal.timeout(5000));
      expect(rx.received).to.have.length(1);
      expect(metrics.items).to.equal(1);
      expect(metrics.drops).to.deep.equal({ rejected: 2 });
      expect(logged()).to.include('points too old');
      rx.answers.push({ status: 200, partial: { rejected: 1, message: 'bad record' } });
      await b.sendEvent(
        {
          title: 't',
          text: '',
          dateHappened: 0,
          hostname: '',
          aggregationKey: '',
          priority: 'normal',
          sourceTypeName: '',
          alertType: 'info',
          tags: [],
        },
        AbortSignal.timeout(5000),
      );
      expect(metrics.drops).to.deep.equal({ rejected: 3 });
      await b.shutdown();
    });
});

describe('otlp config', () => {
  const check = (section: Record<string, unknown>) => {
    const issues: ConfigIssue[] = [];
    const c = validateOtlpConfig(section, 'otlp', issues);
    return { c, issues: issues.map((i) => `${i.path}: ${i.message}`) };
  };

  it('takes gostatsd keys: endpoint, logs from the metrics URL, seconds for max_request_elapsed_time', () => {
    const { c, issues } = check({
      endpoint: 'http://collector:4318',
      max_request_elapsed_time: 20,
      resource_keys: ['service.name'],
      conversion: 'AsGauge',
      transport: 'default',
    });
    expect(issues).to.deep.equal([
      'otlp.transport: gostatsd transport sections have no effect; client_timeout sets the timeout',
    ]);
    expect(c).to.deep.include({
      metricsEndpoint: 'http://collector:4318/v1/metrics',
      logsEndpoint: 'http://collector:4318/v1/logs',
      maxRequestElapsedMs: 20_000,
      resourceKeys: ['service.name'],
      conversion: 'AsGauge',
    });
  });

  it('names every bad key', () => {
    expect(
      check({
        metrics_endpoint: 'http://c/otlp/metrics',
        conversion: 'asgauge',
        encoding: 'xml',
        histogram_buckets: [3, 1],
        headers: { Authorization: 'x' },
        disabled_timer_aggregations: { sumsquare: true },
      }).issues,
    ).to.deep.equal([
      'otlp.logs_endpoint: required when metrics_endpoint does not end in /v1/metrics',
      'otlp.disabled_timer_aggregations.sumsquare: unknown key',
      'otlp.histogram_buckets: bounds must be strictly increasing',
      'otlp.encoding: must be "protobuf" or "json", got "xml"',
      'otlp.conversion: must be "AsExponentialHistogram", "AsHistogram" or "AsGauge", got "asgauge"',
      'otlp.headers.Authorization: is set by the backend (the backend sets it)',
    ]);
    expect(check({}).issues).to.deep.equal([
      'otlp.metrics_endpoint: required: a URL such as http://otel-collector:4318/v1/metrics',
    ]);
  });
});
