import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { PassThrough } from 'node:stream';
import type { Daemon } from '../../../src/daemon/daemon.js';
import type { TapRecord } from '../../../src/telemetry/tap.js';
import { httpGet, metricValue, stableStdout, startDaemon } from '../../support/daemon-harness.js';
import { ManualClock } from '../../support/manual-clock.js';
import { waitFor } from '../../support/wait-for.js';

/** Senders, each its own socket (source port): SO_REUSEPORT spreads senders, not datagrams. */
const SENDERS = 32;

/** What sender `s` sends: counters with rates, its own gauge, shared gauge deltas, timers, sets, tags. */
function payloads(s: number): string[] {
  const out: string[] = [];
  for (let d = 0; d < 20; d++) {
    const n = s * 20 + d;
    out.push(
      [
        `req.count:${1 + (n % 3)}|c`,
        `req.sampled:1|c|@0.5`,
        `conn.active.s${s}:${n}|g`,
        `queue.depth:${n % 2 === 0 ? '+' : '-'}${1 + (n % 4)}|g`,
        `req.time:${(n * 37) % 500}|ms|@0.25`,
        `users:u${n % 17}|s`,
        `api.calls:1|c|#route:r${n % 5},env:prod`,
      ].join('\n'),
    );
  }
  return out;
}

const LINES_PER_SENDER = 20 * 7;

/** Sends every sender's payloads, each sender from its own socket, interleaved. */
async function sendAll(port: number, extra: string[] = []): Promise<void> {
  const sockets = Array.from({ length: SENDERS }, () => dgram.createSocket('udp4'));
  const send = (sock: dgram.Socket, p: string): Promise<void> =>
    new Promise((resolve, reject) => sock.send(p, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  try {
    const all = sockets.map((_, s) => payloads(s));
    for (let d = 0; d < 20; d++) await Promise.all(sockets.map((sock, s) => send(sock, all[s]![d]!)));
    for (const p of extra) await send(sockets[0]!, p);
  } finally {
    for (const sock of sockets) sock.close();
  }
}

interface Run {
  stdout: string[];
  workerDatagrams: Array<number | undefined>;
}

/** A run with `workers` as max-workers; `flushThread` turns flush-thread on (one ingest thread at max-workers 1). */
async function run(workers: number, flushThread = false): Promise<Run> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const clock = new ManualClock();
  const daemon = await startDaemon(
    {
      backends: 'stdout',
      'flush-interval': '1h',
      'max-workers': workers,
      'flush-thread': flushThread,
      'gauge-deltas': 'apply',
      'percent-threshold': '90 50',
    },
    { clock, stdout: out },
  );
  try {
    await sendAll(daemon.addresses().udp.port);
    await waitFor(() => daemon.stats.lines === SENDERS * LINES_PER_SENDER, 10_000);
    clock.advance(1000);
    await daemon.flushNow();
    await waitFor(() => text.includes('req.count'), 10_000);
    const metrics = (await httpGet(daemon.addresses().web!.port, '/metrics')).body;
    return {
      stdout: stableStdout(text),
      workerDatagrams: Array.from({ length: Math.max(workers, flushThread ? 1 : 0) }, (_, i) =>
        metricValue(metrics, `statsd_sepagent_ingest_worker_datagrams_total{worker="${i}"}`),
      ),
    };
  } finally {
    await daemon.shutdown();
  }
}

describe('ingest workers (max-workers >= 2)', function () {
  this.timeout(60_000);

  it('1, 2 and 3 workers and flush-thread flush exactly the same aggregates, each worker receiving its share', async () => {
    const one = await run(1);
    const apart = await run(1, true);
    const two = await run(2);
    const three = await run(3);
    expect(one.stdout.length).to.be.greaterThan(30);
    expect(apart.stdout).to.deep.equal(one.stdout);
    expect(two.stdout).to.deep.equal(one.stdout);
    expect(three.stdout).to.deep.equal(one.stdout);
    expect(one.workerDatagrams).to.deep.equal([undefined]); // no worker threads
    for (const r of [apart, two, three]) {
      const counts = r.workerDatagrams as number[];
      expect(counts.reduce((a, b) => a + b, 0)).to.equal(SENDERS * 20);
      for (const n of counts) expect(n).to.be.greaterThan(0);
    }
  });

  it('relays what the main thread shows: bad lines, the status page, per-metric statistics, events, the tap', async () => {
    const out = new PassThrough();
    out.resume();
    let daemon: Daemon | undefined;
    try {
      daemon = await startDaemon(
        { backends: 'stdout', 'flush-interval': '1h', 'max-workers': 2, 'debug-endpoints': 'tap' },
        { stdout: out },
      );
      const d = daemon;
      const port = d.addresses().udp.port;
      await sendAll(port, ['broken:1|q\nok.line:1|c', '_e{5,4}:title|text']);
      await waitFor(() => d.stats.lines === SENDERS * LINES_PER_SENDER + 3, 10_000);
      expect(d.stats.badLines.invalid_type).to.equal(1);
      expect(d.stats.samples.counter).to.equal(SENDERS * 20 * 3 + 1);
      expect(d.stats.events).to.equal(1);
      expect(d.rejects.list().map((r) => r.line)).to.deep.equal(['broken:1|q']);
      expect(d.metricStats.report(Date.now()).bySeries.map((c) => c.key)).to.include('api.calls');

      // A tap opened on the main thread shows what the workers receive.
      const records: TapRecord[] = [];
      const close = d.tap.subscribe(
        { kinds: ['received'], count: 1 },
        (r) => records.push(r),
        () => undefined,
      );
      expect(close).to.be.a('function');
      const probe = dgram.createSocket('udp4');
      try {
        // The workers attach the tap when its message reaches them: send until it shows (at most 2,000 datagrams).
        for (let i = 0; i < 2000 && records.length === 0; i++) {
          await new Promise<void>((resolve) => probe.send('tapped.metric:1|c', port, '127.0.0.1', () => resolve()));
          await waitFor(() => records.length > 0 || d.stats.lines >= SENDERS * LINES_PER_SENDER + 3 + i + 1, 5_000);
        }
      } finally {
        probe.close();
      }
      expect(records[0]).to.include({ kind: 'received', line: 'tapped.metric:1|c' });
    } finally {
      await daemon?.shutdown();
    }
  });

  it('refuses a port another process holds even with SO_REUSEPORT (another daemon with workers): the workers share it only among themselves', async () => {
    const holder = dgram.createSocket({ type: 'udp4', reusePort: true });
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
    try {
      const port = holder.address().port;
      let failure: unknown;
      await startDaemon({ 'max-workers': 2, 'metrics-addr': `127.0.0.1:${port}` }).then(
        (d) => d.shutdown(),
        (err: unknown) => (failure = err),
      );
      expect(String(failure)).to.match(/EADDRINUSE/);
    } finally {
      holder.close();
    }
  });

  it('a worker thread that dies is started again on the same port, and the next intervals are whole', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const clock = new ManualClock();
    const daemon = await startDaemon(
      { backends: 'stdout', 'flush-interval': '1h', 'max-workers': 2 },
      { clock, stdout: out },
    );
    try {
      const workers = daemon.ingestWorkers!;
      const port = daemon.addresses().udp.port;
      await sendAll(port);
      await waitFor(() => daemon.stats.lines === SENDERS * LINES_PER_SENDER, 10_000);
      clock.advance(1000);
      await daemon.flushNow();
      const first = workers.threads()[0]!;
      await first.terminate();
      await waitFor(() => workers.restarts === 1, 10_000, 'a new worker 0 listening');
      text = '';
      await sendAll(port);
      await waitFor(() => daemon.stats.lines === 2 * SENDERS * LINES_PER_SENDER, 10_000, 'the second round');
      clock.advance(1000);
      await daemon.flushNow();
      let sum = 0;
      for (let n = 0; n < SENDERS * 20; n++) sum += 1 + (n % 3);
      const counts = text.split('\n').filter((l) => /^stats\.counter\.req\.count[.\w]*\.count /.test(l));
      expect(counts.map((l) => Number(l.split(' ')[1]))).to.deep.equal([sum]);
      expect(workers.threads()[0]).to.not.equal(first);
      expect(workers.datagrams()[0]).to.be.greaterThan(0); // the new worker 0 received its share
      const metrics = (await httpGet(daemon.addresses().web!.port, '/metrics')).body;
      expect(metricValue(metrics, 'statsd_sepagent_ingest_worker_restarts_total')).to.equal(1);
    } finally {
      await daemon.shutdown();
    }
  });

  it('the final flush at shutdown holds everything the workers received', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const daemon = await startDaemon({ backends: 'stdout', 'flush-interval': '1h', 'max-workers': 2 }, { stdout: out });
    await sendAll(daemon.addresses().udp.port);
    await waitFor(() => daemon.stats.lines === SENDERS * LINES_PER_SENDER, 10_000);
    await daemon.shutdown();
    let sum = 0;
    for (let n = 0; n < SENDERS * 20; n++) sum += 1 + (n % 3);
    const counts = text.split('\n').filter((l) => /^stats\.counter\.req\.count[.\w]*\.count /.test(l));
    expect(counts.map((l) => Number(l.split(' ')[1]))).to.deep.equal([sum]);
  });

  it('flush-thread: UDP is read while the main thread, where flushes run, is held; without it the kernel drops', async () => {
    const DATAGRAMS = 20_000;
    /**
     * Holds this process's main thread (the daemon's flusher and backends) until a child has
     * sent every datagram, 50 at a time every 2 ms (~0.8 s): 20,000 small datagrams are far
     * more than a 1 MiB receive buffer holds, ~2,000 of them.
     */
    const holdMainWhileSending = (port: number): void => {
      const sent = spawnSync(process.execPath, [
        '-e',
        `const s = require('dgram').createSocket('udp4');
         const pause = new Int32Array(new SharedArrayBuffer(4));
         let i = 0, done = 0;
         const burst = () => {
           for (let b = 0; b < 50 && i < ${DATAGRAMS}; b++, i++)
             s.send('held.' + (i % 10) + ':1|c', ${port}, '127.0.0.1', () => { if (++done === ${DATAGRAMS}) s.close(); });
           if (i < ${DATAGRAMS}) { Atomics.wait(pause, 0, 0, 2); setImmediate(burst); }
         };
         burst();`,
      ]);
      expect(sent.status).to.equal(0);
    };
    const counted = async (flushThread: boolean): Promise<{ received: number; drops: number }> => {
      const daemon = await startDaemon({
        backends: 'null',
        'flush-interval': '1h',
        'receive-buffer-size': 1 << 20,
        'flush-thread': flushThread,
      });
      try {
        const web = daemon.addresses().web!.port;
        holdMainWhileSending(daemon.addresses().udp.port);
        const total = async (): Promise<{ received: number; drops: number }> => {
          const body = (await httpGet(web, '/metrics')).body;
          return {
            received: daemon.stats.datagrams.udp,
            drops: metricValue(body, 'statsd_sepagent_udp_receive_drops_total') ?? 0,
          };
        };
        await waitFor(
          async () => {
            const t = await total();
            return t.received + t.drops === DATAGRAMS;
          },
          10_000,
          'every datagram read or dropped',
        );
        return await total();
      } finally {
        await daemon.shutdown();
      }
    };
    const inline = await counted(false);
    expect(inline.drops).to.be.greaterThan(DATAGRAMS / 2);
    const apart = await counted(true);
    expect(apart).to.deep.equal({ received: DATAGRAMS, drops: 0 });
  });
});
