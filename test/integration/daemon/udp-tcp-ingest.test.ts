import { expect } from 'chai';
import net from 'node:net';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { FakeSepAgentListener } from '../../support/fake-sepagent-listener.js';
import { httpGet, metricValue, sendUdp, startDaemon } from '../../support/daemon-harness.js';
import { waitFor } from '../../support/wait-for.js';

const SEP = { sep_regexp: 'sep([0-9]+)', cluster_regexp: 'external_cluster_sep([0-9]+)' };
const P = 'envoy.cluster.external_cluster_sep1.';

describe('receivers → aggregator → sepagent (in process, real sockets)', () => {
  let agent: FakeSepAgentListener;
  let daemon: Daemon | undefined;

  beforeEach(async () => {
    agent = await FakeSepAgentListener.start();
  });
  afterEach(async () => {
    await daemon?.shutdown();
    daemon = undefined;
    await agent.close();
  });

  for (const mode of ['batch', 'dgram'] as const) {
    it(`[${mode}] aggregates many lines per UDP datagram, up to 64 KiB, and counts the bad ones on /metrics`, async () => {
      daemon = await startDaemon({
        'udp-receiver': mode,
        backends: 'sepagent',
        'flush-interval': '1h',
        sepagent: { port: agent.port, ...SEP },
      });
      const lines: string[] = [];
      while (lines.join('\n').length < 60_000) lines.push(`${P}upstream_rq_total:1|c`);
      lines.push('garbage', `${P}upstream_rq_total:1|c`, '', 'x:1|q');
      const big = lines.join('\n');
      expect(Buffer.byteLength(big)).to.be.greaterThan(60_000).and.lessThan(65_507);
      await sendUdp(daemon.addresses().udp.port, [big]);
      const goodLines = lines.filter((l) => l.startsWith(P)).length;
      await waitFor(() => daemon!.stats.samples.counter === goodLines);
      await daemon.flushNow();
      await agent.waitForDocuments(1);
      expect(agent.counterTotal('upstream_rq_total')).to.equal(goodLines);
      const metrics = (await httpGet(daemon.addresses().web!.port, '/metrics')).body;
      expect(metricValue(metrics, 'statsd_sepagent_bad_lines_total{reason="malformed_line"}')).to.equal(1);
      expect(metricValue(metrics, 'statsd_sepagent_bad_lines_total{reason="empty_line"}')).to.equal(1);
      expect(metricValue(metrics, 'statsd_sepagent_bad_lines_total{reason="invalid_type"}')).to.equal(1);
      expect(metricValue(metrics, 'statsd_sepagent_datagrams_received_total{transport="udp"}')).to.equal(1);
      expect(metricValue(metrics, 'statsd_sepagent_backend_items_sent_total{backend="sepagent"}')).to.equal(2);
    });

    it(`[${mode}] listens on IPv6 and keys series by the sender address`, async () => {
      daemon = await startDaemon({ 'udp-receiver': mode, 'metrics-addr': '[::1]:0', backends: 'null' });
      await sendUdp(daemon.addresses().udp.port, ['a:1|c'], '::1');
      await waitFor(() => daemon!.stats.samples.counter === 1);
      expect(daemon.aggregator.snapshotAndReset(0, 1).counters[0]!.tagsKey).to.equal(',s:::1');
    });

    it(`[${mode}] listens on every interface for ":0" (dual-stack) and shows IPv4 senders as plain IPv4`, async () => {
      daemon = await startDaemon({ 'udp-receiver': mode, 'metrics-addr': ':0', backends: 'null' });
      await sendUdp(daemon.addresses().udp.port, ['a:1|c'], '127.0.0.1');
      await waitFor(() => daemon!.stats.samples.counter === 1);
      expect(daemon.aggregator.snapshotAndReset(0, 1).counters[0]!.host).to.equal('127.0.0.1');
    });
  }

  it('accepts newline-delimited StatsD over TCP and counts overlong lines', async () => {
    daemon = await startDaemon({
      'tcp-addr': '127.0.0.1:0',
      'tcp-max-line-length': '100',
      backends: 'sepagent',
      'flush-interval': '1h',
      sepagent: { port: agent.port, ...SEP },
    });
    const sock = net.connect(daemon.addresses().tcp!.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(`${P}upstream_rq_total:2|c\n${P}upst`);
    sock.write(`ream_rq_total:3|c\n${'x'.repeat(500)}\n${P}upstream_rq_total:4|c`);
    sock.end();
    await waitFor(() => daemon!.stats.samples.counter === 3);
    expect(daemon.stats.tcpLinesTooLong).to.equal(1);
    await daemon.flushNow();
    await agent.waitForDocuments(1);
    expect(agent.counterTotal('upstream_rq_total')).to.equal(9);
  });

  it('serves the health endpoints', async () => {
    daemon = await startDaemon({ backends: 'null' });
    const port = daemon.addresses().web!.port;
    expect(await httpGet(port, '/healthcheck')).to.deep.equal({ status: 200, body: 'OK' });
    expect(await httpGet(port, '/deepcheck')).to.deep.equal({ status: 200, body: 'OK' });
    expect((await httpGet(port, '/healthz')).status).to.equal(200);
    expect((await httpGet(port, '/readyz')).status).to.equal(200);
    expect(await httpGet(port, '/nope')).to.deep.equal({ status: 404, body: 'not found\n' });
    expect((await httpGet(port, '/metrics', 'POST')).status).to.equal(405);
    const metrics = (await httpGet(port, '/metrics')).body;
    expect(metrics).to.contain('statsd_sepagent_build_info{version="test"} 1');
    expect(metrics).to.contain('statsd_sepagent_process_resident_memory_bytes');
    expect(metricValue(metrics, 'statsd_sepagent_udp_receive_buffer_bytes')).to.be.greaterThan(0);
  });
});
