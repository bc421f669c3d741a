import { expect } from 'chai';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import tls from 'node:tls';
import { join, resolve } from 'node:path';
import type { FlushSnapshot } from '../../../../src/aggregator/snapshot.js';
import { validateStatsdaemonConfig } from '../../../../src/backends/statsdaemon/config.js';
import { StatsdaemonBackend } from '../../../../src/backends/statsdaemon/statsdaemon-backend.js';
import type { Daemon } from '../../../../src/daemon/daemon.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { sendUdp, startDaemon, testConfig } from '../../../support/daemon-harness.js';
import { certificates } from '../../../support/certs.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { waitFor } from '../../../support/wait-for.js';

/**
 * Three intervals of source traffic (sampled counters and timers, tags, gauges, sets),
 * each handed to `flush` as it is cut (a snapshot is reused by the next cut).
 */
async function intervals(
  flush: (s: FlushSnapshot) => Promise<void>,
): Promise<{ counters: Record<string, number>; timerValues: number[] }> {
  const p = makePipeline({ percentThresholds: [90] });
  const timerValues: number[] = [];
  let hits = 0;
  for (let round = 0; round < 3; round++) {
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) {
      lines.push(`relay.hits:${i % 7}|c|@0.5|#route:r${i % 3}`);
      hits += Math.trunc((i % 7) / 0.5);
      const v = round * 1000 + i + 0.25;
      lines.push(`relay.lat:${v}|ms|@0.1`);
      timerValues.push(v);
    }
    lines.push(`relay.depth:${round}|g`, `relay.users:u${round}|s`, 'statsd.internal:1|c');
    send(p.ingester, lines.join('\n'));
    p.clock.advance(1000);
    await flush(p.aggregator.snapshotAndReset(p.clock.now(), 1));
  }
  return { counters: { 'relay.hits': hits }, timerValues };
}

async function relay(section: Record<string, unknown>) {
  const items = { lines: 0, packets: 0 };
  const b = new StatsdaemonBackend(validateStatsdaemonConfig(section, 'statsdaemon', []), {
    name: 'statsdaemon',
    logger: silentLogger,
    clock: systemClock,
    metrics: {
      sendError: () => undefined,
      dropped: () => undefined,
      sent: (d, n) => ((items.packets += d), (items.lines += n)),
    },
  });
  await b.start();
  const src = await intervals((s) => b.flush(s, AbortSignal.timeout(5000)));
  await b.sendEvent(
    {
      title: 'deploy',
      text: 'line1\nline2',
      dateHappened: 1556100400,
      hostname: 'h',
      aggregationKey: '',
      priority: 'low',
      sourceTypeName: '',
      alertType: 'error',
      tags: ['a:b'],
    },
    AbortSignal.timeout(5000),
  );
  await b.shutdown();
  return { ...items, src };
}

describe('statsdaemon backend: relaying to real statsd receivers', function () {
  this.timeout(30_000);

  for (const transport of ['udp', 'tcp'] as const) {
    it(`into a second statsd-sepagent over ${transport}: counter sums exact, every timer value kept, tags and host carried`, async () => {
      const d: Daemon = await startDaemon({ backends: 'null', 'tcp-addr': '127.0.0.1:0' });
      try {
        const port = transport === 'udp' ? d.addresses().udp.port : d.addresses()['tcp']!.port;
        const sent = await relay({ address: `127.0.0.1:${port}`, tcp_transport: transport === 'tcp' });
        const src = sent.src;
        await waitFor(() => d.stats.lines === sent.lines, 10_000, `${sent.lines} relayed lines`);
        expect(d.stats.badLinesTotal()).to.equal(0);
        const s = d.aggregator.snapshotAndReset(Date.now(), 1);
        const hits = s.counters.filter((c) => c.name === 'relay.hits');
        expect(hits.reduce((n, c) => n + c.value, 0)).to.equal(src.counters['relay.hits']);
        // Tags and the source host travel in the tags key (`s:<host>` becomes a tag).
        expect(hits.map((c) => c.tagsKey).sort()).to.deep.equal(
          ['route:r0', 'route:r1', 'route:r2'].map((t) => `${t},s:10.0.0.5,s:127.0.0.1`),
        );
        expect(s.counters.some((c) => c.name.startsWith('statsd.'))).to.equal(false);
        const lat = s.timers.find((t) => t.name === 'relay.lat')!;
        expect([...lat.values].sort((a, b) => a - b)).to.deep.equal([...src.timerValues].sort((a, b) => a - b));
        expect(s.gauges.find((g) => g.name === 'relay.depth')!.value).to.equal(2);
        expect([...s.sets.find((x) => x.name === 'relay.users')!.members].sort()).to.deep.equal(['u0', 'u1', 'u2']);
        expect(d.stats.events).to.equal(1);
        if (transport === 'udp') expect(sent.packets).to.be.greaterThan(10); // 1472-byte packets
      } finally {
        await d.shutdown();
      }
    });
  }

  it("into Etsy's statsd (disable_tags): counter sums exact, every timer value kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etsy-'));
    const record = join(dir, 'flushes.jsonl');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    await new Promise<void>((r) => sock.close(() => r()));
    writeFileSync(
      join(dir, 'config.js'),
      `({ port: ${port}, address: '127.0.0.1', mgmt_address: '127.0.0.1', mgmt_port: 0, flushInterval: 200,
          backends: [${JSON.stringify(resolve('test/support/etsy-record-backend.cjs'))}], recordFile: ${JSON.stringify(record)} })`,
    );
    const etsy = spawn(
      process.execPath,
      ['-r', resolve('bench/util-log-shim.cjs'), resolve('node_modules/statsd/stats.js'), join(dir, 'config.js')],
      { stdio: 'ignore' },
    );
    try {
      await waitFor(() => existsSync(record), 10_000, "Etsy's statsd to flush");
      const { src } = await relay({ address: `127.0.0.1:${port}`, disable_tags: true });
      const totals = () => {
        let hits = 0;
        const values: number[] = [];
        // Whole lines only: a flush being appended by the other process may be read half-written.
        const text = readFileSync(record, 'utf8');
        for (const line of text
          .slice(0, text.lastIndexOf('\n') + 1)
          .split('\n')
          .filter(Boolean)) {
          const f = JSON.parse(line) as { counters: Record<string, number>; timers: Record<string, number[]> };
          hits += f.counters['relay.hits'] ?? 0;
          values.push(...(f.timers['relay.lat'] ?? []));
        }
        return { hits, values };
      };
      await waitFor(() => totals().values.length === src.timerValues.length, 10_000, 'every timer value at Etsy');
      await waitFor(() => totals().hits === src.counters['relay.hits'], 10_000, 'the counter sum at Etsy');
      expect(totals().values.sort((a, b) => a - b)).to.deep.equal([...src.timerValues].sort((a, b) => a - b));
    } finally {
      etsy.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('statsdaemon backend: a reload moves it to another address live', function () {
  this.timeout(30_000);
  it('what was flushed before the reload went to the old address, everything after to the new one; nothing lost', async () => {
    const [r1, r2] = [await startDaemon({ backends: 'null' }), await startDaemon({ backends: 'null' })];
    const doc = (port: number) => ({
      backends: 'statsdaemon',
      'flush-interval': '1h',
      statsdaemon: { address: `127.0.0.1:${port}`, disable_tags: true },
    });
    const src = await startDaemon(doc(r1.addresses().udp.port));
    try {
      await sendUdp(src.addresses().udp.port, ['moved:3|c']);
      await waitFor(() => src.stats.lines === 1);
      await src.flushNow();
      await waitFor(() => r1.stats.lines === 1);
      await src.applyConfig(testConfig(doc(r2.addresses().udp.port)));
      await sendUdp(src.addresses().udp.port, ['moved:4|c']);
      await waitFor(() => src.stats.lines === 2);
      await src.flushNow();
      await waitFor(() => r2.stats.lines === 1);
      const total = (d: Daemon) =>
        d.aggregator.snapshotAndReset(Date.now(), 1).counters.find((c) => c.name === 'moved')?.value;
      expect([total(r1), total(r2)]).to.deep.equal([3, 4]);
    } finally {
      for (const d of [src, r1, r2]) await d.shutdown();
    }
  });
});

describe('statsdaemon backend over TLS (tls_transport)', function () {
  this.timeout(20_000);
  it('sends its lines through a TLS connection that trusts tls_ca_path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statsdaemon-tls-'));
    const c = certificates(dir);
    let received = '';
    const server = tls.createServer({ key: readFileSync(c.key), cert: readFileSync(c.cert) }, (s) =>
      s.on('data', (d: Buffer) => (received += d.toString())),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const sent = await relay({ address: `127.0.0.1:${port}`, tls_transport: true, tls_ca_path: c.ca });
      await waitFor(() => received.split('\n').filter(Boolean).length === sent.lines); // the event included
      expect(received).to.contain('relay.hits:');
      expect(received).to.contain('_e{6,12}:deploy|line1\\nline2');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
