import { once } from 'node:events';
import { expect } from 'chai';
import fc from 'fast-check';
import { PassThrough, Writable } from 'node:stream';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goFixed } from '../../../../src/backends/shared/go-format.js';
import { renderSnapshot, StdoutBackend } from '../../../../src/backends/stdout/stdout-backend.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { noopBackendMetrics } from '../../../../src/backends/backend.js';
import { NO_DISABLED_SUB_METRICS } from '../../../support/backend-metrics.js';
import { makePipeline, send } from '../../../support/pipeline.js';

const NONE = NO_DISABLED_SUB_METRICS;

describe('StdoutBackend', () => {
  it('renders the gostatsd stdout format with tags as name parts', () => {
    const { ingester, aggregator } = makePipeline();
    send(ingester, 'c:3|c|#k:v\ng:1.5|g\ns:a|s\nt:2|ms', '10.0.0.5');
    const text = renderSnapshot(aggregator.snapshotAndReset(1_556_100_410_000, 10), NONE);
    expect(text.split('\n')).to.include.members([
      'stats.counter.c.k.v.s.10.0.0.5.count 3 1556100410',
      'stats.counter.c.k.v.s.10.0.0.5.per_second 0.300000 1556100410',
      'stats.gauge.g.s.10.0.0.5 1.500000 1556100410',
      'stats.set.s.s.10.0.0.5 1 1556100410',
      'stats.timers.t.s.10.0.0.5.upper 2.000000 1556100410',
      'stats.timers.t.s.10.0.0.5.count 1 1556100410',
      'stats.timers.t.s.10.0.0.5.upper_90 2.000000 1556100410',
    ]);
  });

  it('honours the base [disabled-sub-metrics] flags', () => {
    const { ingester, aggregator } = makePipeline();
    send(ingester, 't:2|ms');
    const text = renderSnapshot(aggregator.snapshotAndReset(0, 1), { ...NONE, stddev: true, median: true });
    expect(text).to.not.match(/\.std |\.median /);
    expect(text).to.match(/\.mean /);
  });

  it('formats whole numbers on the fast path exactly as toFixed(6) does', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (v) => goFixed(v) === (Object.is(v, -0) ? '-' : '') + v.toFixed(6)),
      { numRuns: 5000 },
    );
    expect(goFixed(-0)).to.equal('-0.000000');
  });

  it('formats like Go %f', () => {
    expect([1, -0, 0.1234567, Infinity, -Infinity, NaN].map(goFixed)).to.deep.equal([
      '1.000000',
      '-0.000000',
      '0.123457',
      '+Inf',
      '-Inf',
      'NaN',
    ]);
  });

  it('waits for drain when the pipe is full, gives up at the deadline, and drops (counted) while it stays full', async () => {
    const out = new PassThrough({ highWaterMark: 16 });
    const dropped: number[] = [];
    const b = new StdoutBackend(NONE, {
      name: 'stdout',
      logger: silentLogger,
      clock: new ManualClock(),
      metrics: { ...noopBackendMetrics, dropped: (_r, n) => dropped.push(n) },
      stdout: out,
    });
    const { ingester, aggregator } = makePipeline();
    send(ingester, 'c:1|c');
    const snap = aggregator.snapshotAndReset(0, 1);
    // Written into the stream's buffer, but nobody reads: the flush gives up at the deadline.
    const err = await b.flush(snap, AbortSignal.timeout(50)).catch((e: unknown) => e);
    expect((err as { code: string }).code).to.equal('ERR_BACKEND_SEND');
    expect(dropped).to.deep.equal([]);
    // Still full: the next flush is dropped and counted instead of queued.
    const err2 = await b.flush(snap, AbortSignal.timeout(50)).catch((e: unknown) => e);
    expect((err2 as { message: string }).message).to.contain('output dropped');
    expect(dropped).to.deep.equal([2]);
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await once(out, 'drain'); // the reader caught up: output flows again
    await b.flush(snap, AbortSignal.timeout(1000));
    expect(
      Buffer.concat(chunks)
        .toString()
        .split('\n')
        .filter((l) => l.includes('.count ')).length,
    ).to.equal(2);
  });

  it('writes a large snapshot in chunks between turns of the event loop, the same text as one render', async () => {
    const writes: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        writes.push(chunk.toString());
        cb();
      },
    });
    const sent: number[] = [];
    const b = new StdoutBackend(NONE, {
      name: 'stdout',
      logger: silentLogger,
      clock: new ManualClock(),
      metrics: { ...noopBackendMetrics, sent: (_d, n) => sent.push(n) },
      stdout: out,
    });
    const { ingester, aggregator } = makePipeline({ maxSeries: 0 });
    const lines: string[] = [];
    for (let i = 0; i < 1500; i++) lines.push(`c${i}:1|c`, `t${i}:${i}|ms`);
    send(ingester, lines.join('\n'));
    const snap = aggregator.snapshotAndReset(0, 1);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    await b.flush(snap, AbortSignal.timeout(10_000));
    clearInterval(ticker);
    expect(writes.length).to.be.greaterThan(3);
    expect(writes.join('')).to.equal(renderSnapshot(snap, NONE));
    // 1,500 counters (2 lines) and 1,500 timers (9 statistics and 5 of the 90th percentile).
    expect(sent).to.deep.equal([1500 * 2 + 1500 * 14]);
    expect(writes.join('').split('\n').length - 1).to.equal(sent[0]);
    expect(turns, 'timers ran while the snapshot was written').to.be.greaterThan(0);
  });

  it('counts the lines it could not write before the deadline as dropped', async () => {
    const out = new PassThrough({ highWaterMark: 1024 });
    const dropped: number[] = [];
    const sent: number[] = [];
    const b = new StdoutBackend(NONE, {
      name: 'stdout',
      logger: silentLogger,
      clock: new ManualClock(),
      metrics: { ...noopBackendMetrics, dropped: (_r, n) => dropped.push(n), sent: (_d, n) => sent.push(n) },
      stdout: out,
    });
    const { ingester, aggregator } = makePipeline({ maxSeries: 0 });
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) lines.push(`c${i}:1|c`);
    send(ingester, lines.join('\n'));
    const err = await b.flush(aggregator.snapshotAndReset(0, 1), AbortSignal.timeout(50)).catch((e: unknown) => e);
    expect((err as { code: string }).code).to.equal('ERR_BACKEND_SEND');
    expect(sent).to.have.length(1);
    expect(sent[0]! + dropped[0]!).to.equal(4000);
    expect(sent[0]).to.be.greaterThan(0).and.lessThan(4000);
  });
  /**
   * Flushes three large intervals (6,000 timers and 6,000 counters each, ~10 MB of text)
   * through a StdoutBackend writing to `out`; returns the text they render to.
   */
  async function flushLargeIntervals(out: NodeJS.WritableStream): Promise<string> {
    const b = new StdoutBackend(NONE, {
      name: 'stdout',
      logger: silentLogger,
      clock: new ManualClock(),
      metrics: noopBackendMetrics,
      stdout: out,
    });
    const { ingester, aggregator } = makePipeline({ maxSeries: 0 });
    let expected = '';
    for (let round = 0; round < 3; round++) {
      const lines: string[] = [];
      for (let i = 0; i < 6000; i++)
        lines.push(`round${round}.timer_with_a_long_name_${i}:${i}|ms`, `c${i}:${round}|c`);
      send(ingester, lines.join('\n'));
      const snap = aggregator.snapshotAndReset(round * 1000, 1);
      expected += renderSnapshot(snap, NONE);
      await b.flush(snap, AbortSignal.timeout(10_000));
    }
    return expected;
  }

  it('never reuses the bytes of a given stream, which may keep chunks after calling back', async () => {
    // The stream keeps each chunk it was given and calls back a turn later, as a
    // PassThrough does: a block reused after the callback would change the held bytes.
    const held: Buffer[] = [];
    const out = new Writable({
      highWaterMark: 1 << 30,
      write(chunk: Buffer, _enc, cb) {
        held.push(chunk);
        setImmediate(cb);
      },
    });
    const expected = await flushLargeIntervals(out);
    expect(held.length, 'more blocks than a pool keeps').to.be.greaterThan(8 * 3);
    out.end();
    await once(out, 'finish'); // every chunk the stream took has been called back
    expect(Buffer.concat(held).toString()).to.equal(expected);
  });

  it('reuses its output blocks on a socket, and the reader gets every byte of every flush', async () => {
    const server = createServer();
    const received = new Promise<Buffer>((resolve) =>
      server.once('connection', (sock) => {
        const parts: Buffer[] = [];
        sock.on('data', (d: Buffer) => parts.push(d));
        sock.on('end', () => resolve(Buffer.concat(parts)));
      }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const out = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(out, 'connect');
    const expected = await flushLargeIntervals(out);
    out.end();
    const got = (await received).toString();
    server.close();
    expect(got.length).to.be.greaterThan(3 * 8 * 128 * 1024); // more blocks than the pool keeps
    expect(got).to.equal(expected);
  });
  it('reuses its output blocks on a file stream, and the file holds every byte of every flush', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stdout-'));
    const path = join(dir, 'out.txt');
    const out = createWriteStream(path);
    const expected = await flushLargeIntervals(out);
    out.end();
    await once(out, 'finish');
    expect(readFileSync(path, 'utf8')).to.equal(expected);
    rmSync(dir, { recursive: true });
  });
});
