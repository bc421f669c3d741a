import { expect } from 'chai';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue } from '../support/daemon-harness.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { FakeSepAgentListener } from '../support/fake-sepagent-listener.js';
import { SteadySender } from '../support/steady-sender.js';
import { waitFor } from '../support/wait-for.js';

const NS = 'team-a';
const NAME = 'statsd-config';

function config(port: number, extra = ''): string {
  return (
    `backends = "sepagent"\n${extra}[sepagent]\nport = ${port}\n` +
    `sep_regexp = 'sep([0-9]+)'\ncluster_regexp = 'external_cluster_sep([0-9]+)'\n`
  );
}

const LISTEN = ['--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0', '--max-workers', '2'];

async function metric(web: number, series: string): Promise<number | undefined> {
  return metricValue((await httpGet(web, '/metrics')).body, series);
}

/**
 * Drives a steady stream into the daemon, runs `change`, waits until the new agent
 * receives, stops, and checks that the two agents together received every line exactly
 * once. Returns the milliseconds from the change to the first document at `to`.
 */
async function moveUnderLoad(
  cli: CliProcess,
  ports: { udp: number; web: number },
  from: FakeSepAgentListener,
  to: FakeSepAgentListener,
  change: () => void,
): Promise<number> {
  const sender = new SteadySender(ports.udp);
  await waitFor(() => from.documents.length >= 1, 5000, 'documents at the first agent');
  const changedAt = Date.now();
  change();
  const first = await waitFor(() => to.documents[0], 10_000, 'a document at the new agent');
  const switchMs = first.at - changedAt;
  await waitFor(() => to.documents.length >= 3, 10_000, 'a few flushes at the new agent');
  await sender.stop();
  await waitFor(
    async () => (await metric(ports.web, 'statsd_sepagent_lines_received_total')) === sender.sent,
    5000,
    'every line received',
  );
  expect(await cli.stop()).to.equal(0); // SIGTERM: the final flush delivers the rest
  // The daemon has exited: whatever it sent is queued at the agents; drain both queues.
  await from.drain();
  await to.drain();
  const total = from.counterTotal('upstream_rq_total') + to.counterTotal('upstream_rq_total');
  expect(total, `sent ${sender.sent}`).to.equal(sender.sent);
  return switchMs;
}

describe('statsd-sepagent reloads its config live (built CLI)', function () {
  this.timeout(40_000);
  let cli: CliProcess | undefined;
  let agents: FakeSepAgentListener[] = [];
  let api: FakeKubeApi | undefined;

  afterEach(async () => {
    if (cli !== undefined && cli.exitCode === undefined) await cli.stop('SIGKILL');
    cli = undefined;
    for (const a of agents) await a.close();
    agents = [];
    await api?.stop();
    api = undefined;
  });

  it('follows a ConfigMap edit that moves SepAgent to another port: nothing lost or doubled, switch time printed', async () => {
    const [a, b] = (agents = [await FakeSepAgentListener.start(), await FakeSepAgentListener.start()]);
    api = await FakeKubeApi.start({ namespaces: [NS] });
    api.upsert(NS, NAME, { 'config.toml': config(a!.port) });
    cli = new CliProcess(['--configmap', NAME, '--kubeconfig', api.writeKubeconfig(), ...LISTEN], {
      POD_NAMESPACE: NS,
      POD_NAME: 'app-0',
    });
    const ports = await cli.ready();
    await cli.waitForLog('watching the ConfigMap for changes');
    const k8s = api;
    const switchMs = await moveUnderLoad(cli, ports, a!, b!, () =>
      k8s.upsert(NS, NAME, { 'config.toml': config(b!.port) }),
    );
    console.log(`      ConfigMap edit → first datagram at the new SepAgent port: ${switchMs} ms (flush interval 1s)`);
    expect(switchMs).to.be.lessThan(2000);
    const applied = api.eventsWithReason('ConfigApplied');
    expect(applied).to.have.length(1);
    expect(applied[0]!['message']).to.match(/^configuration [0-9a-f]{16} applied \(changed: \[sepagent\]\)$/);
    expect(applied[0]!['reportingInstance']).to.equal('app-0');
  });

  it('keeps delivering when a ConfigMap edit is invalid, and reports it as an Event and on /metrics', async () => {
    const [a] = (agents = [await FakeSepAgentListener.start()]);
    api = await FakeKubeApi.start({ namespaces: [NS] });
    api.upsert(NS, NAME, { 'config.toml': config(a!.port, 'flush-interval = "200ms"\n') });
    cli = new CliProcess(['--configmap', NAME, '--kubeconfig', api.writeKubeconfig({ namespace: NS }), ...LISTEN]);
    const ports = await cli.ready();
    await cli.waitForLog('watching the ConfigMap for changes');
    api.upsert(NS, NAME, {
      'config.toml': 'backends = "sepagent"\nflush-interval = "soon"\n[sepagent]\nport = 70000\n',
    });
    const rejected = await waitFor(() => api!.eventsWithReason('ConfigRejected')[0], 5000, 'a ConfigRejected Event');
    expect(rejected['type']).to.equal('Warning');
    expect(rejected['message']).to.match(/^configuration rejected, previous one kept: /);
    for (const key of ['flush-interval: ', 'sepagent.port: ', 'sepagent.sep_regexp: '])
      expect(rejected['message']).to.contain(key);
    expect(await metric(ports.web, 'statsd_sepagent_config_reloads_total{result="failure"}')).to.equal(1);
    const log = await cli.waitForLog(
      'configuration rejected, the previous one keeps running: ' +
        String(rejected['message']).replace('configuration rejected, previous one kept: ', ''),
    );
    expect(log['level']).to.equal(50);
    // Still delivering to the old port, at the old interval.
    const sender = new SteadySender(ports.udp);
    const before = a!.documents.length;
    await waitFor(() => a!.documents.length >= before + 2);
    await sender.stop();
    // Deleting the ConfigMap keeps the last good config too.
    api.remove(NS, NAME);
    await cli.waitForLog('ConfigMap deleted; keeping the last good configuration');
    expect(await cli.stop()).to.equal(0);
  });

  it('follows a kubelet-style ..data symlink swap of a mounted ConfigMap directory, and SIGHUP does not kill it', async () => {
    const [a, b] = (agents = [await FakeSepAgentListener.start(), await FakeSepAgentListener.start()]);
    // The layout the kubelet writes for a ConfigMap volume:
    //   config.toml -> ..data/config.toml,  ..data -> ..2026_11_25_01, real files in ..2026_11_25_01/
    const dir = mkdtempSync(join(tmpdir(), 'cm-volume-'));
    mkdirSync(join(dir, '..2026_11_25_01'));
    writeFileSync(join(dir, '..2026_11_25_01', 'config.toml'), config(a!.port));
    symlinkSync('..2026_11_25_01', join(dir, '..data'));
    symlinkSync('..data/config.toml', join(dir, 'config.toml'));
    cli = new CliProcess(['--config-path', join(dir, 'config.toml'), ...LISTEN]);
    const ports = await cli.ready();
    await cli.waitForLog('watching the config file for changes');

    cli.child.kill('SIGHUP');
    await cli.waitForLog('SIGHUP: reloading the configuration');
    await cli.waitForLog('configuration reloaded: no effective change');

    const switchMs = await moveUnderLoad(cli, ports, a!, b!, () => {
      // The kubelet's atomic update: new timestamped dir, new symlink, rename over ..data.
      mkdirSync(join(dir, '..2026_11_25_02'));
      writeFileSync(join(dir, '..2026_11_25_02', 'config.toml'), config(b!.port));
      symlinkSync('..2026_11_25_02', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    });
    console.log(`      ..data swap → first datagram at the new SepAgent port: ${switchMs} ms (flush interval 1s)`);
    expect(switchMs).to.be.lessThan(2000);
  });

  it('starts on flags and defaults when the ConfigMap is missing, and applies it once created', async () => {
    const [a] = (agents = [await FakeSepAgentListener.start()]);
    api = await FakeKubeApi.start({ namespaces: [NS] });
    cli = new CliProcess([
      '--configmap',
      NAME,
      '--configmap-namespace',
      NS,
      '--kubeconfig',
      api.writeKubeconfig(),
      '--flush-interval',
      '200ms',
      ...LISTEN,
    ]);
    const ports = await cli.ready();
    const warned = await cli.waitForLog('starting on flags and defaults; the ConfigMap is applied once usable');
    expect(String(warned['reason'])).to.contain(`ConfigMap ${NS}/${NAME} does not exist`);
    api.upsert(NS, NAME, { 'config.toml': config(a!.port) });
    await cli.waitForLog('configuration reloaded');
    const sender = new SteadySender(ports.udp);
    await waitFor(() => a!.documents.length >= 1);
    await sender.stop();
    expect(await cli.stop()).to.equal(0);
  });

  it('refuses --config-path together with --configmap, and --configmap-key alone', async () => {
    for (const args of [
      ['--config-path', 'x.toml', '--configmap', 'y'],
      ['--configmap-key', 'config.toml'],
    ]) {
      cli = new CliProcess(args);
      expect(await cli.exited).to.equal(2);
      expect(cli.stderr).to.match(/not both|needs --configmap/);
    }
  });
});
