import { expect } from 'chai';
import { mkdirSync, mkdtempSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnixReceiver, containerIdFromCgroup } from '../../../../src/receivers/unix/unix-receiver.js';
import { loadBatchModule } from '../../../../src/receivers/udp/native-batch.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { makePipeline } from '../../../support/pipeline.js';
import { waitFor } from '../../../support/wait-for.js';
import { sendAll, unixClient as client } from '../../../support/unix-dgram.js';

describe('UnixReceiver (real Unix datagram sockets)', function () {
  this.timeout(30_000);
  let dir: string;
  let receivers: UnixReceiver[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'uds-'));
  });
  afterEach(async () => {
    for (const r of receivers) await r.shutdown();
    receivers = [];
  });

  function start(path: string, extra: { originDetection?: boolean; procRoot?: string; mode?: number } = {}) {
    const p = makePipeline();
    const r = new UnixReceiver(
      {
        path,
        mode: extra.mode ?? 0o620,
        receiveBufferBytes: 1 << 20,
        originDetection: extra.originDetection ?? false,
      },
      { sink: p.ingester, stats: p.stats, logger: silentLogger, clock: systemClock },
      extra.procRoot,
    );
    receivers.push(r);
    return { receiver: r, pipeline: p };
  }

  it('is the native module: recvmmsg on an AF_UNIX socket', () => {
    expect('module' in loadBatchModule()).to.equal(true);
  });

  it('creates the socket with its mode, replaces a stale one, refuses a live one or another file, removes it at shutdown', async () => {
    const path = join(dir, 'dsd.socket');
    const a = start(path, { mode: 0o600 });
    await a.receiver.start();
    expect(statSync(path).isSocket()).to.equal(true);
    expect(statSync(path).mode & 0o777).to.equal(0o600);

    // A live socket is never taken over.
    const b = start(path);
    let err = await b.receiver.start().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.equal(`cannot listen on unix-socket "${path}": another process is listening on it`);

    // Close without removing the file (a crashed daemon): the next start replaces it.
    const loaded = loadBatchModule();
    if (!('module' in loaded)) throw new Error(loaded.reason);
    const stalePath = join(dir, 'stale.socket');
    const stale = loaded.module.openUnix(stalePath, 0o620, 0, 1024, 1, false, () => undefined);
    await new Promise<void>((done) => loaded.module.close(stale, done));
    expect(existsSync(stalePath)).to.equal(true);
    const c = start(stalePath);
    await c.receiver.start();
    const s = client(stalePath);
    await sendAll(s, [Buffer.from('after.stale:1|c')]);
    await waitFor(() => c.pipeline.stats.samples.counter === 1, 5000, 'a line on the replaced socket');
    s.close();

    // A regular file is never removed.
    const filePath = join(dir, 'not-a-socket');
    writeFileSync(filePath, 'keep me');
    const d = start(filePath);
    err = await d.receiver.start().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/a file that is not a socket is in the way/);
    expect(statSync(filePath).isFile()).to.equal(true);

    await a.receiver.shutdown();
    expect(existsSync(path)).to.equal(false);
    await c.receiver.shutdown();
    expect(existsSync(stalePath)).to.equal(false);
  });

  it('loses nothing of a burst of 20,000 datagrams sent at once (the sender waits instead)', async () => {
    const path = join(dir, 'burst.socket');
    const { receiver, pipeline } = start(path);
    await receiver.start();
    const payloads = Array.from({ length: 20_000 }, (_, i) => Buffer.from(`burst.c${i % 1000}:1|c`));
    const s = client(path);
    const waits = await sendAll(s, payloads);
    await waitFor(() => pipeline.stats.samples.counter === 20_000, 10_000, 'all 20,000 lines');
    expect(pipeline.stats.datagrams.unix).to.equal(20_000);
    s.close();
    console.log(`      20,000 datagrams, 0 lost; the sender waited ${waits} times for the receiver`);
  });

  it('drops and counts a datagram longer than its 64 KiB slot (truncated_datagram) instead of parsing the cut lines', async () => {
    const path = join(dir, 'long.socket');
    const { receiver, pipeline } = start(path);
    await receiver.start();
    // 65,536 bytes of filler lines, then a line the slot would cut from `@0.015` to `@0.01`.
    const filler = `${'f:1|g\n'.repeat(10_919)}zzzzzz:1|g\n`;
    const cut = Buffer.from(`${filler}x:1|c|@0.015\n`);
    expect(cut.subarray(0, 65_536).toString().endsWith('x:1|c|@0.01')).to.equal(true);
    const s = client(path);
    await sendAll(s, [cut, Buffer.from('after:1|c')]);
    await waitFor(() => pipeline.stats.samples.counter === 1, 5000, 'the datagram after it');
    expect(pipeline.stats.truncatedDatagrams.unix).to.equal(1);
    expect(pipeline.stats.datagrams.unix).to.equal(1);
    expect(pipeline.stats.samples.gauge).to.equal(0);
    s.close();
  });

  it('origin detection: the sender pid (SO_PASSCRED) gives its container id from its cgroup', async () => {
    const id = 'e2a1b7f3'.repeat(8);
    const procRoot = join(dir, 'proc');
    mkdirSync(join(procRoot, String(process.pid)), { recursive: true });
    writeFileSync(
      join(procRoot, String(process.pid), 'cgroup'),
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${id}.scope\n`,
    );
    const path = join(dir, 'origin.socket');
    const { receiver, pipeline } = start(path, { originDetection: true, procRoot });
    await receiver.start();
    const s = client(path);
    await sendAll(s, [Buffer.from('from.app:1|c|#a:b'), Buffer.from('own.id:1|c|c:feed')]);
    await waitFor(() => pipeline.stats.samples.counter === 2, 5000, 'two lines');
    s.close();
    const snap = pipeline.aggregator.snapshotAndReset(pipeline.clock.now(), 1);
    const tags = snap.counters.map((c) => `${c.name} ${c.tags.join(',')}`).sort();
    // A line's own |c: field is only used with container-id-tag; here the origin applies to both.
    expect(tags).to.deep.equal([`from.app a:b,container_id:${id}`, `own.id container_id:${id}`]);
  });

  it('reads container ids from cgroup v1 and v2 files', () => {
    const id = 'a'.repeat(64);
    expect(
      containerIdFromCgroup(`12:pids:/kubepods/burstable/pod1/${id}\n1:name=systemd:/kubepods/burstable/pod1/${id}\n`),
    ).to.equal(id);
    expect(containerIdFromCgroup(`0::/system.slice/docker-${id}.scope\n`)).to.equal(id);
    expect(containerIdFromCgroup('0::/\n')).to.equal('');
  });
});
