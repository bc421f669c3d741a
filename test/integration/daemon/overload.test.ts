import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { httpGet, metricValue, sendUdp, startDaemon } from '../../support/daemon-harness.js';
import { waitFor } from '../../support/wait-for.js';
import { makePipeline } from '../../support/pipeline.js';
import { ManualClock } from '../../support/manual-clock.js';

describe('overload: series cap and kernel drops (real sockets)', function () {
  this.timeout(20_000);
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.shutdown();
    daemon = undefined;
  });

  it('caps live series at max-series: new series are dropped and counted, existing ones keep working', async () => {
    daemon = await startDaemon({ backends: 'null', 'flush-interval': '1h', 'max-series': 100 });
    const lines = Array.from({ length: 150 }, (_, i) => `flood.${i}:1|c`);
    daemon.ingester.ingestDatagram(Buffer.from(lines.join('\n')), '127.0.0.1');
    expect(daemon.aggregator.seriesCount().counter).to.equal(100);
    expect(daemon.aggregator.seriesDropped).to.equal(50);
    expect(daemon.stats.samples.counter).to.equal(100);
    // Existing series still count, through the cache and the full parser alike.
    daemon.ingester.ingestDatagram(Buffer.from('flood.0:2|c\nflood.99:3|c\nflood.100:1|c'), '127.0.0.1');
    const body = (await httpGet(daemon.addresses().web!.port, '/metrics')).body;
    expect(metricValue(body, 'statsd_sepagent_series_dropped_total')).to.equal(51);
    expect(metricValue(body, 'statsd_sepagent_series{type="counter"}')).to.equal(100);
    const snap = daemon.aggregator.snapshotAndReset(0, 1);
    const byName = new Map(snap.counters.map((c) => [c.name, c.value]));
    expect(byName.get('flood.0')).to.equal(3);
    expect(byName.get('flood.99')).to.equal(4);
    expect(byName.has('flood.100')).to.equal(false);
  });

  it('frees room when series expire, and takes a raised cap live', async () => {
    const clock = new ManualClock();
    daemon = await startDaemon(
      {
        backends: 'null',
        'flush-interval': '1h',
        'max-series': 10,
        'expiry-interval': '1ms',
      },
      { clock },
    );
    const flood = (from: number): void =>
      daemon!.ingester.ingestDatagram(
        Buffer.from(Array.from({ length: 20 }, (_, i) => `s.${from + i}:1|c`).join('\n')),
        '127.0.0.1',
      );
    flood(0);
    expect(daemon.aggregator.seriesCount().counter).to.equal(10);
    clock.advance(5);
    daemon.aggregator.snapshotAndReset(clock.now(), 1); // expires the idle series
    flood(100);
    expect(daemon.aggregator.seriesCount().counter).to.equal(10);
    const { testConfig } = await import('../../support/daemon-harness.js');
    await daemon.applyConfig(
      testConfig({ backends: 'null', 'flush-interval': '1h', 'max-series': 1000, 'expiry-interval': '1ms' }),
    );
    flood(200);
    expect(daemon.aggregator.seriesCount().counter).to.equal(30);
  });

  it('reads the kernel drops of its UDP socket into /metrics', async () => {
    // A tiny receive buffer and a blocked event loop: the kernel must drop.
    daemon = await startDaemon({ backends: 'null', 'flush-interval': '1h', 'receive-buffer-size': 4096 });
    const port = daemon.addresses().udp.port;
    // spawnSync holds this process (the daemon) until the child has handed all 4000
    // datagrams to the kernel and exited: nothing is read meanwhile, so the buffer overflows.
    const sent = spawnSync(process.execPath, [
      '-e',
      `const s = require('dgram').createSocket('udp4');
       let done = 0;
       for (let i = 0; i < 4000; i++) s.send('x:1|c', ${port}, '127.0.0.1', () => { if (++done === 4000) s.close(); });`,
    ]);
    expect(sent.status).to.equal(0);
    await waitFor(async () => {
      const body = (await httpGet(daemon!.addresses().web!.port, '/metrics')).body;
      return (metricValue(body, 'statsd_sepagent_udp_receive_drops_total') ?? 0) > 0;
    });
    const received = daemon.stats.datagrams.udp;
    const body = (await httpGet(daemon.addresses().web!.port, '/metrics')).body;
    const drops = metricValue(body, 'statsd_sepagent_udp_receive_drops_total')!;
    // Every datagram is accounted for: received by the daemon or dropped by the kernel.
    await waitFor(() => daemon!.stats.datagrams.udp + drops >= 4000, 5000, 'every datagram read or dropped');
    expect(daemon.stats.datagrams.udp + drops).to.equal(4000);
    expect(received).to.be.lessThan(4000);
    await sendUdp(port, ['after:1|c']);
    await waitFor(() => daemon!.stats.samples.counter >= 1);
  });
});

describe('line cache under churning series names', () => {
  it('stays bounded by the live series, whatever the number of names ever seen', () => {
    const p = makePipeline({ expiry: { counterMs: 1, gaugeMs: 1, timerMs: 1, setMs: 1 } });
    let maxCache = 0;
    for (let gen = 0; gen < 40; gen++) {
      // 10,000 new names per generation; the previous generation expires at the next cut.
      const lines = Array.from({ length: 10_000 }, (_, i) => `g${gen}.n${i}:1|c`);
      for (let i = 0; i < lines.length; i += 100)
        p.ingester.ingestDatagram(Buffer.from(lines.slice(i, i + 100).join('\n')), 'h');
      maxCache = Math.max(maxCache, p.ingester.cachedLines);
      p.clock.advance(10);
      p.aggregator.snapshotAndReset(p.clock.now(), 1);
    }
    // 400,000 names seen; never more than ~2 × the live series (or the 65,536 floor) cached.
    expect(p.aggregator.liveSeries).to.be.at.most(10_000);
    expect(maxCache).to.be.at.most(65_536 + 10_000);
  });
});
