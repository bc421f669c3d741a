import { expect } from 'chai';
import http from 'node:http';
import { inflateSync } from 'node:zlib';
import { validateForwarderConfig, type ForwarderConfig } from '../../../../src/backends/forwarder/config.js';
import { ForwarderBackend } from '../../../../src/backends/forwarder/forwarder-backend.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { close } from '../../../../src/shared/listen.js';
import { decodeEventMessage, decodeRawMessage, forEachEntry, int64 } from '../../../../src/wire/gostatsd.js';
import { CountingMetrics, flushOutcome } from '../../../support/backend-metrics.js';
import { startIngestion, type Ingestion } from '../../../support/gostatsd-wire.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { waitFor } from '../../../support/wait-for.js';
import { flushDriver } from '../../../support/flush-driver.js';

function forwarder(endpoint: string, section: Record<string, unknown> = {}, clock = new ManualClock()) {
  const config: ForwarderConfig = validateForwarderConfig({ 'api-endpoint': endpoint, ...section }, 'forwarder', []);
  const metrics = new CountingMetrics();
  const fwd = new ForwarderBackend(config, {
    name: 'forwarder',
    logger: silentLogger,
    clock,
    metrics,
    random: () => 0.5,
  });
  return { fwd, clock, metrics };
}

/** A bound for one delivery in these tests. */
const deadline = (): AbortSignal => AbortSignal.timeout(10_000);

/** The source daemon's side: lines in, one snapshot per interval out. */
function source() {
  const p = makePipeline({ percentThresholds: [90] });
  return {
    p,
    interval(lines: string) {
      send(p.ingester, lines);
      p.clock.advance(1000);
      return p.aggregator.snapshotAndReset(p.clock.now(), 1);
    },
  };
}

/** Counter sums and timer counts the ingestion side has aggregated. */
function totals(ing: Ingestion): { counters: Record<string, number>; timerCounts: Record<string, number> } {
  const s = ing.p.aggregator.snapshotAndReset(ing.p.clock.now(), 1);
  return {
    counters: Object.fromEntries(s.counters.map((c) => [c.name, c.value])),
    timerCounts: Object.fromEntries(s.timers.map((t) => [t.name, t.count])),
  };
}

describe('forwarder backend (to a /v2/raw aggregation tier)', () => {
  it("speaks gostatsd's forwarder protocol: path, headers, zlib body", async () => {
    const seen: Array<{ url: string; headers: http.IncomingHttpHeaders; body: Buffer }> = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      for (const [compress, prefix] of [
        [true, ''],
        [false, '/tier'],
      ] as const) {
        const f = forwarder(`http://127.0.0.1:${port}${prefix}`, { compress });
        const src = source();
        await f.fwd.flush(src.interval('hits:3|c|@0.5|#a:1\nlat:5|ms|@0.5\ng:2|g\nu:x|s'), deadline());
        await f.fwd.sendEvent(
          {
            title: 't',
            text: 'x',
            dateHappened: 5,
            hostname: 'h',
            aggregationKey: '',
            priority: 'normal',
            sourceTypeName: '',
            alertType: 'error',
            tags: [],
          },
          deadline(),
        );
        await waitFor(() => seen.length === 2);
        await f.fwd.shutdown();
        const raw = seen.find((s) => s.url.endsWith('/v2/raw'))!;
        expect(raw.url).to.equal(`${prefix}/v2/raw`);
        expect(raw.headers).to.include({
          'user-agent': 'gostatsd (http forwarder)',
          'content-type': 'application/x-protobuf',
          'content-encoding': compress ? 'deflate' : 'identity',
        });
        const m = decodeRawMessage(compress ? inflateSync(raw.body) : raw.body);
        const rows: string[] = [];
        forEachEntry(m.Counters, (n, t) =>
          forEachEntry(t!.TagMap, (k, v) =>
            rows.push(`${n} ${k} ${v!.Tags.join(',')} ${v!.Hostname} ${int64(v!.Value)}`),
          ),
        );
        forEachEntry(m.Timers, (n, t) =>
          forEachEntry(t!.TagMap, (k, v) => rows.push(`${n} ${k} ${[...v!.Values].join(',')} ${v!.SampleCount}`)),
        );
        expect(rows).to.deep.equal(['hits a:1,s:10.0.0.5 a:1 10.0.0.5 6', 'lat ,s:10.0.0.5 5 2']);
        const ev = seen.find((s) => s.url.endsWith('/v2/event'))!;
        expect(decodeEventMessage(compress ? inflateSync(ev.body) : ev.body)).to.include({
          Title: 't',
          Hostname: 'h',
          Type: 2,
        });
        expect(f.metrics.requests).to.equal(2);
        seen.length = 0;
      }
    } finally {
      server.closeAllConnections();
      await close(server);
    }
  });

  it('feeds our own ingestion exactly: counter sums and timer counts', async () => {
    const ing = await startIngestion();
    const f = forwarder(`http://127.0.0.1:${ing.port}`);
    const src = source();
    try {
      for (let i = 0; i < 5; i++) {
        await f.fwd.flush(src.interval('a:1|c\na:2|c|@0.25\nt:1|ms\nt:2|ms|@0.1\ns:m' + i + '|s'), deadline());
      }
      expect(totals(ing)).to.deep.equal({ counters: { a: 45 }, timerCounts: { t: 55 } });
      expect(f.metrics.drops).to.deep.equal({});
    } finally {
      await f.fwd.shutdown();
      await ing.receiver.shutdown();
    }
  });

  it('loses and doubles nothing across a 20 s outage of the tier: the flusher merges intervals, then delivers', async () => {
    let ing = await startIngestion();
    const port = ing.port;
    const d = flushDriver();
    const f = forwarder(`http://127.0.0.1:${port}`, {}, d.clock);
    await d.use(f.fwd);
    await ing.receiver.shutdown(); // the tier goes away
    for (let i = 0; i < 20; i++) {
      d.send('hits:1|c\nhits:1|c\nlat:3|ms\ng:' + i + '|g');
      await d.tick();
      await d.settle();
    }
    const requestsDuringOutage = f.metrics.errors.length;
    expect(f.metrics.requests).to.equal(0);
    ing = await startIngestion({ address: `127.0.0.1:${port}` }, {}, ing.p);
    try {
      for (let i = 0; i < 40 && (d.busy || i < 15); i++) {
        await d.tick();
        await d.settle();
      }
      const t = totals(ing);
      expect(t.counters).to.deep.equal({ hits: 40 });
      expect(t.timerCounts).to.deep.equal({ lat: 20 });
      expect(f.metrics.drops).to.deep.equal({});
      expect(d.dropped).to.deep.equal([]);
      expect(requestsDuringOutage).to.be.within(5, 12); // back-off, not one request per interval
    } finally {
      await d.flusher.shutdown(AbortSignal.timeout(5000));
      await f.fwd.shutdown();
      await ing.receiver.shutdown();
    }
  });

  it('beyond the elapsed time and the memory bound, drops are counted, memory stays bounded, and it recovers', async () => {
    let ing = await startIngestion();
    const port = ing.port;
    const d = flushDriver();
    const f = forwarder(
      `http://127.0.0.1:${port}`,
      { 'max-request-elapsed-time': '5s', 'max-pending-size': '64KiB' },
      d.clock,
    );
    await d.use(f.fwd);
    await ing.receiver.shutdown();
    let total = 0;
    for (let i = 0; i < 20; i++) {
      d.send(Array.from({ length: 200 }, (_, j) => `s${i}.m${j}:1|c`).join('\n'));
      total += 200;
      await d.tick();
      await d.settle();
      expect(f.fwd.pendingBytes).to.be.at.most(64 * 1024);
    }
    expect(f.metrics.drops['buffer_full']).to.be.greaterThan(0);
    expect(f.metrics.drops['retry_expired']).to.be.greaterThan(0);
    ing = await startIngestion({ address: `127.0.0.1:${port}` }, {}, ing.p);
    try {
      // The backlog drains (what the bound left out is counted), then new data flows again.
      for (let i = 0; i < 60 && (d.busy || i < 15); i++) {
        await d.tick();
        await d.settle();
      }
      d.send('after:1|c');
      total += 1;
      for (let i = 0; i < 3; i++) {
        await d.tick();
        await d.settle();
      }
      const delivered = ing.p.aggregator.liveSeries;
      expect(totals(ing).counters['after']).to.equal(1);
      // Every series is delivered once or counted as dropped once.
      const byFlusher = d.dropped.reduce((n, x) => n + x.snapshot.counters.length, 0);
      expect(delivered + f.metrics.drops['buffer_full']! + f.metrics.drops['retry_expired']! + byFlusher).to.equal(
        total,
      );
    } finally {
      await d.flusher.shutdown(AbortSignal.timeout(5000));
      await f.fwd.shutdown();
      await ing.receiver.shutdown();
    }
  });

  it('with several endpoints, each name is aggregated by exactly one, and one down does not hold up the other', async () => {
    const tiers = [await startIngestion(), await startIngestion()];
    const f = forwarder(tiers.map((t) => `http://127.0.0.1:${t.port}`).join(' '));
    const src = source();
    const names = Array.from({ length: 40 }, (_, i) => `shard.m${i}`);
    try {
      for (let round = 0; round < 3; round++) {
        await f.fwd.flush(src.interval(names.map((n) => `${n}:1|c`).join('\n')), deadline());
      }
      const seen = tiers.map((t) => totals(t).counters);
      for (const n of names) {
        const where = seen.filter((c) => c[n] !== undefined);
        expect(where, n).to.have.length(1);
        expect(where[0]![n], n).to.equal(3);
      }
      expect(Object.keys(seen[0]!).length).to.be.within(5, 35); // both shards get a share
      // The second tier goes away: the first keeps receiving its names.
      const before = tiers[0]!.p.stats.forwardedSeries.counter;
      await tiers[1]!.receiver.shutdown();
      const last = f.fwd.flush(src.interval(names.map((n) => `${n}:1|c`).join('\n')), AbortSignal.timeout(3000));
      await waitFor(() => tiers[0]!.p.stats.forwardedSeries.counter === before + Object.keys(seen[0]!).length);
      await waitFor(() => f.metrics.errors.length > 0 && f.clock.pendingTimers === 1);
      // The answer reaches the forwarder just after the tier counted the merge.
      await waitFor(() => f.metrics.requests === 7, 5000, '7 delivered requests');
      // The other endpoint's part is given up at the delivery's deadline, counted.
      expect(await flushOutcome(last)).to.equal('forwarding: 1 of 1 requests not delivered');
      expect(f.metrics.drops['retry_expired']).to.equal(40 - Object.keys(seen[0]!).length);
    } finally {
      await f.fwd.shutdown(AbortSignal.timeout(100));
      for (const t of tiers) await t.receiver.shutdown();
    }
  });

  it('a refusal (4xx) is dropped and counted at once, never retried', async () => {
    let hits = 0;
    const server = http.createServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.writeHead(400).end('bad'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const f = forwarder(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    try {
      expect(await flushOutcome(f.fwd.flush(source().interval('a:1|c\nb:1|c'), deadline()))).to.equal(
        'forwarding: 1 of 1 requests not delivered',
      );
      expect(f.clock.pendingTimers).to.equal(0);
      expect(hits).to.equal(1);
      expect(f.metrics.drops).to.deep.equal({ rejected: 2 });
      expect(f.metrics.errors).to.deep.equal(['HTTP_400']);
    } finally {
      await f.fwd.shutdown();
      server.closeAllConnections();
      await close(server);
    }
  });

  it('shutdown: a delivery waiting to retry tries once more at once, then the final interval goes, within the deadline', async () => {
    let ing = await startIngestion();
    const port = ing.port;
    const d = flushDriver();
    const f = forwarder(`http://127.0.0.1:${port}`, {}, d.clock);
    await d.use(f.fwd);
    await ing.receiver.shutdown();
    for (let i = 0; i < 3; i++) {
      d.send('x:5|c\nt:1|ms');
      await d.tick();
      await d.settle();
    }
    expect(d.inFlight).to.equal(1); // the first interval waits to retry
    ing = await startIngestion({ address: `127.0.0.1:${port}` }, {}, ing.p);
    try {
      await d.flusher.shutdown(AbortSignal.timeout(5000));
      await f.fwd.shutdown(AbortSignal.timeout(5000));
      expect(totals(ing)).to.deep.equal({ counters: { x: 15 }, timerCounts: { t: 3 } });
      expect(f.metrics.drops).to.deep.equal({});
      expect(f.metrics.requests).to.equal(2); // the retried interval, then the rest at once
    } finally {
      await ing.receiver.shutdown();
    }
  });
});
