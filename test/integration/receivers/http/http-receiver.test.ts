import { expect } from 'chai';
import net from 'node:net';
import { deflateSync } from 'node:zlib';
import { encodeEventMessage, eventToMessage } from '../../../../src/wire/gostatsd.js';
import { httpGet } from '../../../support/daemon-harness.js';
import {
  type Ingestion,
  oneSeries,
  post,
  protoField,
  rawBody,
  rawMessage,
  rawRequest,
  startIngestion,
} from '../../../support/gostatsd-wire.js';
import { makePipeline, plainSnapshot, send } from '../../../support/pipeline.js';
import { waitFor } from '../../../support/wait-for.js';

const startReceiver = startIngestion;

const DEFLATE = { 'content-encoding': 'deflate' };

const SAMPLE = rawMessage({
  counters: [
    { name: 'req', tags: ['route:a'], host: '10.0.0.7', value: 7 },
    { name: 'req', host: '10.0.0.8', value: -2 },
  ],
  gauges: [{ name: 'depth', host: '10.0.0.7', value: 4.5 }],
  timers: [{ name: 'lat', host: '10.0.0.7', values: [3, 1, 2], sampleCount: 6 }],
  sets: [{ name: 'users', host: '10.0.0.7', values: ['ann', 'bob'] }],
});

describe('http receiver (/v2/raw, /v2/event)', () => {
  let r: Ingestion;
  afterEach(() => r.receiver.shutdown());

  it('merges a forwarded interval exactly as the same lines received over UDP would be', async () => {
    r = await startReceiver();
    for (const encoding of ['deflate', 'identity'] as const) {
      const res = await post(r.port, '/v2/raw', rawBody(SAMPLE, encoding), {
        'content-type': 'application/x-protobuf',
        'content-encoding': encoding,
      });
      expect(res).to.deep.equal({ status: 202, body: '' });
    }
    // Without Content-Encoding the body is raw.
    expect((await post(r.port, '/v2/raw', rawBody(SAMPLE, 'identity'))).status).to.equal(202);
    const forwarded = plainSnapshot(r.p.aggregator.snapshotAndReset(r.p.clock.now(), 1));

    // The same data, three times, as lines: sampled timer values count 2 each (@0.5).
    const udp = makePipeline({ percentThresholds: [90] });
    for (let i = 0; i < 3; i++) {
      send(
        udp.ingester,
        'req:7|c|#route:a\ndepth:4.5|g\nlat:3|ms|@0.5\nlat:1|ms|@0.5\nlat:2|ms|@0.5\nusers:ann|s\nusers:bob|s',
        '10.0.0.7',
      );
      send(udp.ingester, 'req:-2|c', '10.0.0.8');
    }
    expect(forwarded).to.deep.equal(plainSnapshot(udp.aggregator.snapshotAndReset(udp.clock.now(), 1)));
    expect(r.p.stats.forwardedSeries).to.deep.equal({ counter: 6, gauge: 3, timer: 3, set: 3 });
    expect(r.p.stats.httpIngest('main').accepted).to.equal(3);
  });

  it('applies default tags and filters, and keeps the forwarded host', async () => {
    r = await startReceiver(
      {},
      {
        defaultTags: ['tier:agg'],
        namespace: 'ignored',
        filters: [
          {
            name: 'f',
            matchMetrics: ['drop.*'],
            excludeMetrics: [],
            matchTags: [],
            dropTags: [],
            dropMetric: true,
            dropHost: false,
          },
        ],
      },
    );
    const m = rawMessage({
      counters: [
        { name: 'keep', tags: ['a:1'], host: 'h', value: 1 },
        { name: 'drop.me', value: 1 },
      ],
    });
    expect((await post(r.port, '/v2/raw', rawBody(m), DEFLATE)).status).to.equal(202);
    const s = r.p.aggregator.snapshotAndReset(r.p.clock.now(), 1);
    expect(s.counters.map((c) => [c.name, c.tags, c.tagsKey])).to.deep.equal([
      ['keep', ['a:1', 'tier:agg'], 'a:1,tier:agg,s:h'],
    ]);
    expect(r.p.stats.filtered).to.equal(1);
  });

  it('counts and skips invalid series, merging the valid ones beside them', async () => {
    r = await startReceiver();
    const m = rawMessage({
      counters: [
        { name: '€€', value: 1 },
        { name: 'ok', value: 2 },
      ],
      gauges: [{ name: 'g', value: NaN }],
      timers: [{ name: 't', values: [1, Infinity] }],
    });
    expect((await post(r.port, '/v2/raw', rawBody(m), DEFLATE)).status).to.equal(202);
    expect(r.p.stats.forwardedRejected).to.deep.include({ empty_name: 1, invalid_value: 2, too_many_values: 0 });
    expect(r.p.aggregator.snapshotAndReset(r.p.clock.now(), 1).counters.map((c) => [c.name, c.value])).to.deep.equal([
      ['ok', 2],
    ]);
  });

  it('answers events with 202 and hands them on with default fields', async () => {
    r = await startReceiver();
    const e = {
      title: 'deploy',
      text: 'done',
      dateHappened: 0,
      hostname: '',
      aggregationKey: '',
      priority: 'normal' as const,
      sourceTypeName: '',
      alertType: 'success' as const,
      tags: ['a'],
    };
    const res = await post(r.port, '/v2/event', Buffer.from(encodeEventMessage(eventToMessage(e, '10.1.1.1'))), {
      'content-encoding': 'identity',
    });
    expect(res.status).to.equal(202);
    expect(r.p.events).to.have.length(1);
    expect(r.p.events[0]).to.include({ title: 'deploy', hostname: '10.1.1.1', alertType: 'success' });
    expect(r.p.events[0]!.dateHappened).to.equal(Math.floor(r.p.clock.now() / 1000));
  });

  it("rejects bad bodies with the reference's codes, counting each by reason, merging nothing", async () => {
    r = await startReceiver({ maxBodyBytes: 4096, maxMessageBytes: 8192 });
    const good = rawBody(SAMPLE);
    const cases: Array<[Buffer, Record<string, string>, number]> = [
      [good, { 'content-encoding': 'gzip' }, 400],
      [Buffer.from('not zlib at all'), { 'content-encoding': 'deflate' }, 400],
      [deflateSync(Buffer.from([0x0a, 0xff, 0xff, 0x7f])), { 'content-encoding': 'deflate' }, 400],
      [deflateSync(Buffer.alloc(100_000)), { 'content-encoding': 'deflate' }, 413], // inflates past 8 KiB
      [Buffer.alloc(5000, 1), { 'content-encoding': 'identity' }, 413],
    ];
    for (const [body, headers, status] of cases)
      expect((await post(r.port, '/v2/raw', body, headers)).status).to.equal(status);
    expect(r.p.stats.httpIngest('main')).to.deep.include({
      bad_encoding: 1,
      bad_deflate: 1,
      bad_protobuf: 1,
      too_large: 2,
      accepted: 0,
    });
    expect(r.p.aggregator.liveSeries).to.equal(0);
  });

  it('caps what one body may hold: series, tags per series, values per timer and set; the rest of it is merged', async () => {
    r = await startReceiver({ limits: { maxSeries: 5, maxTags: 3, maxValues: 5 } });
    const m = rawMessage({
      counters: [
        { name: 'c1', value: 1 },
        { name: 'tagged', tags: ['a:1', 'b:2', 'c:3', 'd:4'], value: 1 },
      ],
      timers: [
        { name: 'long', values: [1, 2, 3, 4, 5, 6] },
        { name: 't', values: [1, 2, 3, 4, 5] },
        { name: 'u', values: [1] },
      ],
      sets: [
        { name: 'members', values: ['a', 'b', 'c', 'd', 'e', 'f'] },
        { name: 's', values: ['a'] },
        { name: 'past', values: ['a'] },
        { name: 'cap', values: ['a'] },
      ],
    });
    expect((await post(r.port, '/v2/raw', rawBody(m), DEFLATE)).status).to.equal(202);
    expect(r.p.stats.forwardedRejected).to.deep.include({ too_many_tags: 1, too_many_values: 2, too_many_series: 1 });
    const snap = r.p.aggregator.snapshotAndReset(r.p.clock.now(), 1);
    expect(snap.counters.map((c) => c.name)).to.deep.equal(['c1']);
    expect(snap.timers.map((t) => t.name)).to.deep.equal(['t']);
    expect(snap.sets.map((x) => x.name).sort()).to.deep.equal(['cap', 'past', 's']);
  });

  it('a 92 KB deflate body of a timer with 7.9 million values is refused as that series, not decoded', async () => {
    r = await startReceiver();
    // Timers{"t": TagMap{"": RawTimerV2{Values: 7.9 million packed zeros}}}.
    const body = oneSeries(4, protoField(0x22, Buffer.alloc(7_900_000 * 8)));
    expect(body.length).to.be.lessThan(100_000);
    expect((await post(r.port, '/v2/raw', body, DEFLATE)).status).to.equal(202);
    expect(r.p.stats.forwardedRejected.too_many_values).to.equal(1);
    expect(r.p.aggregator.liveSeries).to.equal(0);
  });

  it('answers 503 with Retry-After past max-buffered-size of bodies in flight, and frees a request’s bytes when it ends', async () => {
    r = await startReceiver({ maxBodyBytes: 40_000, maxMessageBytes: 40_000, maxBufferedBytes: 50_000 });
    // A slow upload holds 30,000 bytes of the budget...
    const slow = net.connect(r.port, '127.0.0.1');
    slow.on('error', () => undefined);
    slow.write('POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: 35000\r\n\r\n');
    slow.write(Buffer.alloc(30_000));
    await waitFor(() => r.p.clock.pendingTimers > 0, 5000, 'the slow body being read');
    // ...so a second body of 30,000 bytes does not fit: 503, and the client is told when to come back.
    const res = await fetch(`http://127.0.0.1:${r.port}/v2/raw`, { method: 'POST', body: Buffer.alloc(30_000) });
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.equal('1');
    expect(r.p.stats.httpIngest('main').busy).to.equal(1);
    // The slow client goes away: its bytes are given back, and a good body is taken.
    slow.destroy();
    await waitFor(() => r.p.stats.httpIngest('main').read_error === 1, 5000, 'the slow request ended');
    expect((await post(r.port, '/v2/raw', rawBody(SAMPLE), DEFLATE)).status).to.equal(202);
  });

  it('answers 413 to a declared oversized body without reading it', async () => {
    r = await startReceiver({ maxBodyBytes: 4096 });
    const status = await rawRequest(
      r.port,
      'POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000000000',
      'abc',
    );
    expect(status).to.equal('HTTP/1.1 413 Payload Too Large');
    expect(r.p.stats.httpIngest('main').too_large).to.equal(1);
  });

  it('cuts off a stalled upload after read-timeout with 408', async () => {
    r = await startReceiver({ readTimeoutMs: 2000 });
    const answer = rawRequest(r.port, 'POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: 100', 'partial');
    // The deadline is armed once the handler starts reading; then time passes.
    await waitFor(() => r.p.clock.pendingTimers > 0, 5000, 'the body deadline');
    r.p.clock.advance(2000);
    expect(await answer).to.equal('HTTP/1.1 408 Request Timeout');
    expect(r.p.stats.httpIngest('main').timeout).to.equal(1);
  });

  it('serves health paths, 404 elsewhere, 405 for other methods', async () => {
    r = await startReceiver();
    expect(await httpGet(r.port, '/healthcheck')).to.deep.equal({ status: 200, body: 'OK' });
    expect(await httpGet(r.port, '/deepcheck')).to.deep.equal({ status: 200, body: 'OK' });
    expect((await httpGet(r.port, '/nope')).status).to.equal(404);
    expect((await httpGet(r.port, '/v2/raw')).status).to.equal(405);
    expect((await post(r.port, '/expvar', Buffer.from('x'))).status).to.equal(404);
  });

  it('a server without ingestion has no /v2 paths; one with expvar serves JSON', async () => {
    r = await startReceiver({ ingestion: false, expvar: true });
    expect((await post(r.port, '/v2/raw', rawBody(SAMPLE), DEFLATE)).status).to.equal(404);
    const ev = await httpGet(r.port, '/expvar');
    expect(ev.status).to.equal(200);
    expect(JSON.parse(ev.body)).to.have.keys('cmdline', 'memstats', 'uptime');
  });
});
