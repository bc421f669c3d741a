import { expect } from 'chai';
import { flushOutcome } from '../../../support/backend-metrics.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import snappy from 'snappy';
import { validateRemoteWriteConfig } from '../../../../src/backends/prometheus-remote-write/config.js';
import { RemoteWriteBackend } from '../../../../src/backends/prometheus-remote-write/remote-write-backend.js';
import { decodeWriteRequest } from '../../../../src/backends/prometheus-remote-write/write-request.js';
import { close } from '../../../../src/shared/listen.js';
import { createLogger } from '../../../../src/shared/logger.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { waitFor } from '../../../support/wait-for.js';
import { testSharedSettings } from '../../../support/shared-settings.js';

interface Seen {
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A receiver answering each request with the next of `answers` (the last one repeats). */
async function receiver(answers: Array<{ status: number; headers?: Record<string, string>; body?: string }>) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
      const a = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      res.writeHead(a.status, a.headers).end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/write?tenant=x`;
  return { seen, url, close: () => (server.closeAllConnections(), close(server)) };
}

describe('prometheus-remote-write on the wire', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function make(url: string, section: Record<string, unknown>) {
    const clock = new ManualClock(Date.now());
    const log = new PassThrough();
    let logged = '';
    log.on('data', (d: Buffer) => (logged += d.toString()));
    const drops: Record<string, number> = {};
    const b = new RemoteWriteBackend(
      validateRemoteWriteConfig({ url, ...section }, 'prometheus-remote-write', []),
      testSharedSettings(1000),
      {
        name: 'prometheus-remote-write',
        logger: createLogger({ format: 'json', level: 'info', destination: log }),
        clock,
        metrics: {
          sendError: () => undefined,
          dropped: (r, n) => (drops[r] = (drops[r] ?? 0) + n),
          sent: () => undefined,
        },
        random: () => 0.5,
      },
    );
    const p = makePipeline();
    return {
      b,
      clock,
      drops,
      logged: () => logged,
      flush: (lines: string) => {
        send(p.ingester, lines);
        p.clock.advance(1000);
        return b.flush(p.aggregator.snapshotAndReset(p.clock.now(), 1), AbortSignal.timeout(5000));
      },
    };
  }

  it('sends snappy protobuf with the 0.1.0 headers, basic auth from a file, extra headers, bounded requests', async () => {
    const r = await receiver([{ status: 204 }]);
    writeFileSync(join(dir, 'password'), 's3cret\n');
    const t = make(r.url, {
      username: 'team',
      'password-file': join(dir, 'password'),
      headers: { 'X-Scope-OrgID': 'tenant-a' },
      'max-samples-per-request': 2,
    });
    await t.flush('a:1|c\nb:2|c\nc:3|g');
    expect(r.seen).to.have.length(2);
    expect(r.seen[0]!.headers).to.include({
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'x-scope-orgid': 'tenant-a',
      authorization: 'Basic ' + Buffer.from('team:s3cret').toString('base64'),
    });
    const all = r.seen.flatMap((s) => decodeWriteRequest(snappy.uncompressSync(s.body) as Buffer).timeseries);
    expect(
      all.map((ts) => [ts.labels.map((l) => `${l.name}=${l.value}`).join(','), ts.samples[0]!.value]),
    ).to.deep.equal([
      ['__name__=a', 1],
      ['__name__=b', 2],
      ['__name__=c', 3],
    ]);
    await t.b.shutdown();
    await r.close();
  });

  it('honours Retry-After on 429; a 400 is dropped at once, its answer logged, the token never', async () => {
    const r = await receiver([
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 204 },
      { status: 400, body: 'out of order sample' },
    ]);
    writeFileSync(join(dir, 'token'), 'tok-123\n');
    const t = make(r.url, { 'bearer-token-file': join(dir, 'token') });
    const first = t.flush('a:1|c');
    await waitFor(() => t.clock.pendingTimers === 1);
    t.clock.advance(5000); // back-off alone would have retried by now
    expect(r.seen).to.have.length(1);
    t.clock.advance(2000);
    await first;
    expect(r.seen).to.have.length(2);
    expect(r.seen[0]!.headers['authorization']).to.equal('Bearer tok-123');
    expect(await flushOutcome(t.flush('a:1|c'))).to.equal('remote write: 1 of 1 requests not delivered');
    expect(r.seen).to.have.length(3);
    expect(t.drops).to.deep.equal({ rejected: 1 });
    expect(t.logged()).to.contain('out of order sample');
    expect(t.logged()).to.not.contain('tok-123');
    await t.b.shutdown();
    await r.close();
  });

  const NATIVE =
    'mappings:\n- match: w.lat\n  name: w_lat\n  observer_type: histogram\n  histogram_options:\n    buckets: [1]\n' +
    '    native_histogram_bucket_factor: 1.1\n';

  it('send-native-histograms: a native histogram (schema, spans, deltas, zero bucket, whole counts) in requests after the samples', async () => {
    const r = await receiver([{ status: 204 }]);
    const t = make(r.url, { mapping: NATIVE, 'send-native-histograms': true });
    // Seconds after the mapping's ms → s: 0, 1, 1, 2, -4. At schema 3, 1 is the upper bound of
    // Prometheus bucket 0, 2 of bucket 8, 4 (negative side) of bucket 16.
    await t.flush('w.hits:2|c\nw.lat:0|ms\nw.lat:1000|ms\nw.lat:1000|ms\nw.lat:2000|ms\nw.lat:-4000|ms');
    expect(r.seen).to.have.length(2);
    const [samples, histograms] = r.seen.map(
      (s) => decodeWriteRequest(snappy.uncompressSync(s.body) as Buffer).timeseries,
    );
    expect(samples!.map((ts) => [ts.labels.map((l) => l.value).join(), ts.samples.map((x) => x.value)])).to.deep.equal([
      ['w_hits', [2]],
    ]);
    expect(histograms).to.have.length(1);
    const ts = histograms![0]!;
    expect(ts.labels).to.deep.equal([{ name: '__name__', value: 'w_lat' }]);
    expect(ts.samples).to.deep.equal([]);
    const h = ts.histograms![0]!;
    expect(h).to.deep.include({
      countInt: 5,
      sum: 0,
      schema: 3,
      zeroCountInt: 1,
      positiveSpans: [{ offset: 0, length: 9 }],
      positiveDeltas: [2, -2, 0, 0, 0, 0, 0, 0, 1],
      negativeSpans: [{ offset: 16, length: 1 }],
      negativeDeltas: [1],
      timestamp: samples![0]!.samples[0]!.timestamp, // the interval's end, as the samples'
    });
    expect(h.zeroThreshold).to.be.greaterThan(0).and.lessThan(1e-30);
    // Cumulative: the next write carries every observation so far.
    await t.flush('w.lat:1000|ms');
    const next = decodeWriteRequest(snappy.uncompressSync(r.seen[3]!.body) as Buffer).timeseries[0]!.histograms![0]!;
    expect(next).to.deep.include({ countInt: 6, positiveDeltas: [3, -3, 0, 0, 0, 0, 0, 0, 1] });
    // What `explain` says it would write.
    const e = make(r.url, { mapping: NATIVE, 'send-native-histograms': true });
    const p = makePipeline();
    send(p.ingester, 'w.lat:1000|ms\nw.lat:2000|ms');
    expect(e.b.explain(p.aggregator.snapshotAndReset(p.clock.now(), 1)).emits).to.deep.equal([
      'w_lat{} native histogram (count 2, sum 3, schema 3)',
    ]);
    await t.b.shutdown();
    await r.close();
  });

  it('without send-native-histograms the same mapping writes classic buckets, _sum and _count', async () => {
    const r = await receiver([{ status: 204 }]);
    const t = make(r.url, { mapping: NATIVE });
    await t.flush('w.lat:500|ms\nw.lat:2000|ms');
    expect(r.seen).to.have.length(1);
    const all = decodeWriteRequest(snappy.uncompressSync(r.seen[0]!.body) as Buffer).timeseries;
    expect(all.map((ts) => [ts.labels.map((l) => `${l.name}=${l.value}`).join(), ts.samples[0]!.value])).to.deep.equal([
      ['__name__=w_lat_bucket,le=1', 1],
      ['__name__=w_lat_bucket,le=+Inf', 2],
      ['__name__=w_lat_sum', 2.5],
      ['__name__=w_lat_count', 2],
    ]);
    expect(all.every((ts) => ts.histograms!.length === 0)).to.equal(true);
    await t.b.shutdown();
    await r.close();
  });
});
