import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { FakeSepAgentListener } from '../support/fake-sepagent-listener.js';
import { SteadySender } from '../support/steady-sender.js';
import { waitFor } from '../support/wait-for.js';

const LISTEN = ['--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0'];
const SEP = `sep_regexp = 'sep([0-9]+)'\ncluster_regexp = 'external_cluster_sep([0-9]+)'\n`;

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'resilience-'));
  const path = join(dir, 'config.toml');
  writeFileSync(path, text);
  return path;
}

/** 3,000 distinct counters: every flush then prints ~250 KB to stdout (idle series report 0). */
function manySeries(): string[] {
  const lines = Array.from({ length: 3000 }, (_, i) => `envoy.cluster.external_cluster_sep${i % 30}.c${i}:1|c`);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 100) out.push(lines.slice(i, i + 100).join('\n'));
  return out;
}

async function metrics(web: number): Promise<string> {
  return (await httpGet(web, '/metrics')).body;
}

describe('resilience: failing peers and signals (built CLI)', function () {
  this.timeout(60_000);
  let cli: CliProcess | undefined;
  let agent: FakeSepAgentListener | undefined;
  afterEach(async () => {
    if (cli !== undefined && cli.exitCode === undefined) await cli.stop('SIGKILL');
    cli = undefined;
    await agent?.close();
    agent = undefined;
  });

  it('a blocked stdout (full pipe) never delays SepAgent, does not grow memory, and does not hold up shutdown', async () => {
    agent = await FakeSepAgentListener.start();
    const path = configFile(
      `backends = "stdout sepagent"\nflush-interval = "200ms"\nshutdown-timeout = "1s"\n[sepagent]\nport = ${agent.port}\n${SEP}`,
    );
    cli = new CliProcess(['--config-path', path, ...LISTEN], {}, { blockStdout: true });
    const ports = await cli.ready();
    await sendUdp(ports.udp, manySeries());
    const sender = new SteadySender(ports.udp);
    const flushesSeen = (): number => new Set(agent!.documents.map((d) => Math.floor(d.at / 200))).size;
    await waitFor(() => flushesSeen() >= 10, 10_000, 'ten flushes at SepAgent while stdout is stuck');
    // SepAgent kept getting a flush every 200 ms while stdout was stuck...
    const recent = agent.documents.filter((d) => d.at > Date.now() - 1000);
    expect(new Set(recent.map((d) => Math.floor(d.at / 200))).size).to.be.at.least(3);
    // ...the daemon answered at once...
    const t0 = Date.now();
    expect((await httpGet(ports.web, '/healthz')).status).to.equal(200);
    expect(Date.now() - t0).to.be.lessThan(500);
    // ...and the stuck backend is visible.
    const m = await metrics(ports.web);
    const stuck =
      (metricValue(m, 'statsd_sepagent_backend_flushes_total{backend="stdout",result="timeout"}') ?? 0) +
      (metricValue(m, 'statsd_sepagent_backend_items_dropped_total{backend="stdout",reason="blocked_output"}') ?? 0);
    expect(stuck).to.be.greaterThan(0);
    expect(
      metricValue(m, 'statsd_sepagent_backend_flushes_total{backend="sepagent",result="success"}'),
    ).to.be.greaterThan(5);

    await sender.stop();
    await waitFor(
      async () => metricValue(await metrics(ports.web), 'statsd_sepagent_lines_received_total')! >= 3000 + sender.sent,
    );
    const stopAt = Date.now();
    // Shutdown does not wait for the stuck output beyond its per-delivery deadline (the
    // flush interval): the process leaves promptly, SepAgent having received everything.
    expect(await cli.stop()).to.equal(0);
    expect(Date.now() - stopAt).to.be.lessThan(3000);
    await agent.drain(); // the daemon has exited: take in everything it sent
    expect(agent.counterTotal('upstream_rq_total')).to.equal(sender.sent);
  });

  it('a second SIGTERM during a stuck shutdown exits at once with code 1', async () => {
    // The final flush writes ~250 KB into a pipe nobody reads, and may wait for it up to
    // the shutdown timeout (30 s; the flush interval is longer).
    const path = configFile(`backends = "stdout"\nflush-interval = "60s"\nshutdown-timeout = "30s"\n`);
    cli = new CliProcess(['--config-path', path, ...LISTEN], {}, { blockStdout: true });
    const ports = await cli.ready();
    await sendUdp(ports.udp, manySeries());
    await waitFor(async () => metricValue(await metrics(ports.web), 'statsd_sepagent_lines_received_total') === 3000);
    cli.child.kill('SIGTERM');
    await cli.waitForLog('shutting down: final flush');
    // It still answers, as a daemon shutting down (not ready), waiting for stdout.
    expect((await httpGet(ports.web, '/readyz')).status).to.equal(503);
    expect(cli.exitCode).to.equal(undefined);
    const t0 = Date.now();
    expect(await cli.stop('SIGTERM')).to.equal(1);
    expect(Date.now() - t0).to.be.lessThan(1000);
    await cli.waitForLog('second signal: exiting without waiting');
  });

  it('keeps running when the SepAgent host does not resolve: errors counted, the other backend keeps flushing', async () => {
    const path = configFile(
      `backends = "sepagent stdout"\nflush-interval = "200ms"\n[sepagent]\nhost = "sepagent.invalid"\nport = 5555\n${SEP}`,
    );
    cli = new CliProcess(['--config-path', path, ...LISTEN]);
    const ports = await cli.ready();
    const sender = new SteadySender(ports.udp);
    await waitFor(
      () => cli!.stdout.split('\n').filter((l) => l.includes('upstream_rq_total.s.127.0.0.1.count')).length >= 3,
      5000,
    );
    await sender.stop();
    const m = await metrics(ports.web);
    const errors = m
      .split('\n')
      .filter((l) => l.startsWith('statsd_sepagent_backend_send_errors_total{backend="sepagent"'))
      .map((l) => Number(l.split(' ').pop()));
    expect(errors.reduce((a, b) => a + b, 0)).to.be.greaterThan(0);
    expect(
      metricValue(m, 'statsd_sepagent_backend_flushes_total{backend="stdout",result="success"}'),
    ).to.be.greaterThan(2);
    expect(await cli.stop()).to.equal(0);
  });

  it('takes a storm of SIGHUPs with edits in between: alive, delivering, and on the last document', async () => {
    agent = await FakeSepAgentListener.start();
    const doc = (interval: string): string =>
      `backends = "sepagent"\nflush-interval = "${interval}"\n[sepagent]\nport = ${agent!.port}\n${SEP}`;
    const path = configFile(doc('200ms'));
    cli = new CliProcess(['--config-path', path, ...LISTEN]);
    const ports = await cli.ready();
    await cli.waitForLog('watching the config file for changes');
    const sender = new SteadySender(ports.udp);
    for (let i = 0; i < 100; i++) {
      cli.child.kill('SIGHUP');
      if (i === 50) writeFileSync(path, doc('300ms'));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(async () => {
      const m = await metrics(ports.web);
      return (
        m.includes('source="file"') &&
        (metricValue(m, 'statsd_sepagent_config_reloads_total{result="success"}') ?? 0) > 0
      );
    });
    const afterStorm = agent.documents.length;
    await waitFor(() => agent!.documents.length >= afterStorm + 3, 10_000, 'deliveries after the storm');
    await sender.stop();
    expect((await httpGet(ports.web, '/healthz')).status).to.equal(200);
    const m = await metrics(ports.web);
    expect(metricValue(m, 'statsd_sepagent_config_reloads_total{result="failure"}')).to.equal(0);
    expect(
      cli
        .logs()
        .filter((r) => r['msg'] === 'configuration reloaded')
        .at(-1)?.['changed'] ?? [],
    ).to.satisfy((c: string[]) => c.length === 0 || c.includes('flush-interval'));
    expect(await cli.stop()).to.equal(0);
    await agent.drain(); // the daemon has exited: take in everything it sent
    expect(agent.counterTotal('upstream_rq_total')).to.equal(sender.sent);
  });

  it('SIGTERM right after an edit (a reload in flight): exits 0 and delivers every sample once', async () => {
    agent = await FakeSepAgentListener.start();
    const other = await FakeSepAgentListener.start();
    try {
      const doc = (port: number): string =>
        `backends = "sepagent"\nflush-interval = "200ms"\n[sepagent]\nport = ${port}\n${SEP}`;
      const path = configFile(doc(agent.port));
      cli = new CliProcess(['--config-path', path, ...LISTEN]);
      const ports = await cli.ready();
      await cli.waitForLog('watching the config file for changes');
      const sender = new SteadySender(ports.udp);
      await waitFor(() => agent!.documents.length >= 2, 10_000, 'two flushes at the first agent');
      await sender.stop();
      await waitFor(
        async () => metricValue(await metrics(ports.web), 'statsd_sepagent_lines_received_total') === sender.sent,
      );
      writeFileSync(path, doc(other.port));
      cli.child.kill('SIGHUP'); // the reload starts now...
      expect(await cli.stop()).to.equal(0); // ...and SIGTERM lands while it runs
      await agent.drain();
      await other.drain();
      expect(agent.counterTotal('upstream_rq_total') + other.counterTotal('upstream_rq_total')).to.equal(sender.sent);
    } finally {
      await other.close();
    }
  });

  it('starts and keeps receiving when the Kubernetes API refuses it (403), on flags and defaults', async () => {
    const api = await FakeKubeApi.start({ namespaces: ['allowed'] });
    try {
      api.upsert('forbidden', 'cfg', { 'config.toml': 'backends = "null"\n' });
      cli = new CliProcess([
        '--configmap',
        'cfg',
        '--configmap-namespace',
        'forbidden',
        '--kubeconfig',
        api.writeKubeconfig(),
        '--backends',
        'stdout',
        '--flush-interval',
        '200ms',
        ...LISTEN,
      ]);
      const ports = await cli.ready();
      const warn = await cli.waitForLog('starting on flags and defaults; the ConfigMap is applied once usable', 20_000);
      expect(String(warn['reason'])).to.match(/403|forbidden/i);
      await sendUdp(ports.udp, ['still.working:1|c']);
      await waitFor(() => cli!.stdout.includes('still.working.s.127.0.0.1.count 1 '), 5000);
      await cli.waitForLog('ConfigMap watch failed; keeping the current configuration and retrying', 10_000);
      expect(await cli.stop()).to.equal(0);
    } finally {
      await api.stop();
    }
  });
});
