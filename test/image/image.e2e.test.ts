import { expect } from 'chai';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { FakeSepAgentListener, sepagentSection } from '../support/fake-sepagent-listener.js';
import { freeTcpPort, freeUdpPort } from '../support/ports.js';
import { waitFor } from '../support/wait-for.js';

const TAG = 'localhost/statsd-sepagent:test';
const LINE = 'envoy.cluster.external_cluster_sep1.upstream_rq_total';
/** podman as the chart's pod runs the sidecar: runc (this kernel's hybrid cgroups), explicit ulimits. */
const PODMAN = ['--runtime', 'runc'];

/**
 * A config directory as the kubelet mounts a ConfigMap: `config.toml` → `..data/config.toml`,
 * `..data` → a timestamped directory, swapped atomically on every update.
 */
class KubeletVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'image-config-'));
  #n = 0;
  constructor(text: string) {
    chmodSync(this.dir, 0o755);
    this.write(text);
    symlinkSync('..data/config.toml', join(this.dir, 'config.toml'));
  }
  write(text: string): void {
    const version = `..2026_12_07_${++this.#n}`;
    mkdirSync(join(this.dir, version), { mode: 0o755 });
    writeFileSync(join(this.dir, version, 'config.toml'), text, { mode: 0o644 });
    const tmp = join(this.dir, '..data_tmp');
    symlinkSync(version, tmp);
    renameSync(tmp, join(this.dir, '..data'));
  }
}

describe('the container image (Dockerfile built with buildah, run with podman as the chart runs it)', function () {
  this.timeout(15 * 60_000);
  let container: ChildProcess | undefined;
  let logs = '';
  let agent: FakeSepAgentListener | undefined;
  let agent2: FakeSepAgentListener | undefined;
  const name = `statsd-sepagent-test-${process.pid}`;

  before(function () {
    // The build is `make image`: from an empty image store about 3 minutes, then cached.
    const t0 = Date.now();
    const r = spawnSync('bash', ['scripts/image.sh', TAG], { encoding: 'utf8', timeout: 14 * 60_000 });
    if (r.status !== 0)
      throw new Error(`the image did not build (scripts/image.sh exit ${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
    console.log(`      image built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });

  after(async () => {
    spawnSync('podman', [...PODMAN, 'rm', '-f', name], { stdio: 'ignore' });
    await agent?.close();
    await agent2?.close();
  });

  it('receives StatsD, applies a kubelet-style config swap live, and flushes at SIGTERM: uid 65532, no capabilities, read-only', async () => {
    agent = await FakeSepAgentListener.start();
    agent2 = await FakeSepAgentListener.start();
    const statsd = await freeUdpPort();
    const web = await freeTcpPort();
    const config = (port: number): string => `backends = "sepagent"\nflush-interval = "1s"\n${sepagentSection(port)}`;
    const volume = new KubeletVolume(config(agent.port));
    const t0 = Date.now();
    container = spawn(
      'podman',
      [
        ...PODMAN,
        'run',
        '--rm',
        '--name',
        name,
        '--network=host',
        '--read-only',
        '--tmpfs=/tmp',
        '--user=65532:65532',
        '--cap-drop=all',
        '--security-opt=no-new-privileges',
        '--security-opt=seccomp=/usr/share/containers/seccomp.json',
        // Explicit limits within this process's own: raising one needs CAP_SYS_RESOURCE.
        `--ulimit=nofile=${openFilesLimit()}:${openFilesLimit()}`,
        '--ulimit=nproc=4096:4096',
        '--memory=512m',
        `--volume=${volume.dir}:/etc/statsd-sepagent:ro`,
        TAG,
        // The chart's sidecar flags, with a file source instead of the ConfigMap.
        '--max-workers=1',
        `--metrics-addr=127.0.0.1:${statsd}`,
        `--web-addr=127.0.0.1:${web}`,
        '--log-format=json',
        '--shutdown-timeout=10s',
        '--config-path=/etc/statsd-sepagent/config.toml',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    container.stdout!.setEncoding('utf8').on('data', (d: string) => (logs += d));
    container.stderr!.setEncoding('utf8').on('data', (d: string) => (logs += d));
    const exited = new Promise<number | null>((resolve) => container!.on('exit', resolve));

    await waitFor(
      async () => (await httpGet(web, '/readyz').catch(() => ({ status: 0 }))).status === 200,
      60_000,
      '/readyz',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; container output: ${logs.slice(-1500)}`);
    });
    const readyMs = Date.now() - t0;

    // 1. StatsD in, the SepAgent document out.
    await sendUdp(statsd, [`${LINE}:2|c`]);
    await waitFor(() => agent!.counterTotal('upstream_rq_total') === 2, 10_000, 'the first document');

    // 2. The process inside: uid and gid 65532, no capability in any set, read-only root.
    const status = execFileSync('podman', [...PODMAN, 'exec', name, 'cat', '/proc/1/status'], { encoding: 'utf8' });
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).to.equal('65532');
    expect(/^Gid:\s+(\d+)/m.exec(status)?.[1]).to.equal('65532');
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
      expect(new RegExp(`^${set}:\\s+(\\S+)`, 'm').exec(status)?.[1], set).to.equal('0000000000000000');
    expect(/^NoNewPrivs:\s+(\d)/m.exec(status)?.[1]).to.equal('1');
    expect(/^Seccomp:\s+(\d)/m.exec(status)?.[1]).to.equal('2');
    const write = spawnSync('podman', [...PODMAN, 'exec', name, 'touch', '/app/x'], { encoding: 'utf8' });
    expect(write.status).to.not.equal(0);
    expect(write.stderr).to.match(/Read-only file system/);
    const memory = containerMemoryBytes(name);

    // 3. The ConfigMap volume is updated as the kubelet does: SepAgent moves, nothing lost.
    volume.write(config(agent2.port));
    await waitFor(
      () => logs.includes('configuration reloaded'),
      15_000,
      `the swap applied (logs: ${logs.slice(-800)})`,
    );
    await sendUdp(statsd, [`${LINE}:3|c`]);
    await waitFor(() => agent2!.counterTotal('upstream_rq_total') === 3, 10_000, 'the document at the new port');

    // 4. SIGTERM (podman stop): the final flush, exit 0 within the shutdown timeout.
    await sendUdp(statsd, [`${LINE}:4|c`]);
    await waitFor(
      async () =>
        (metricValue((await httpGet(web, '/metrics')).body, 'statsd_sepagent_samples_received_total{type="counter"}') ??
          0) === 3,
      5_000,
      'the last sample received',
    );
    const stopAt = Date.now();
    execFileSync('podman', [...PODMAN, 'stop', '--time', '15', name], { stdio: 'ignore' });
    expect(await exited).to.equal(0);
    const stopMs = Date.now() - stopAt;
    await agent2.drain();
    expect(agent2.counterTotal('upstream_rq_total')).to.equal(7);
    expect(agent.counterTotal('upstream_rq_total')).to.equal(2);
    expect(logs).to.contain('shutting down: final flush');
    expect(stopMs).to.be.lessThan(10_000);

    const size = imageSizes(TAG);
    console.log(
      `      image ${(size.uncompressed / 1e6).toFixed(0)} MB, ${(size.compressed / 1e6).toFixed(0)} MB gzip-compressed; ` +
        `/readyz after ${readyMs} ms; container memory (cgroup) ${memory === undefined ? '?' : (memory / 2 ** 20).toFixed(1) + ' MiB'}; ` +
        `SIGTERM to exit ${stopMs} ms`,
    );
  });
});

/** The hard limit on open files this process has, at most 65,536. */
function openFilesLimit(): number {
  const m = /^Max open files\s+\S+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return Math.min(65_536, Number(m?.[1] ?? 1024));
}

/** The container's memory use as its cgroup counts it, or undefined where podman cannot tell. */
function containerMemoryBytes(name: string): number | undefined {
  const r = spawnSync('podman', [...PODMAN, 'stats', '--no-stream', '--no-reset', '--format', '{{.MemUsage}}', name], {
    encoding: 'utf8',
  });
  const m = /^([\d.]+)([kMG]i?B)/.exec(r.stdout.trim());
  if (m === null) return undefined;
  const unit = { kB: 1e3, MB: 1e6, GB: 1e9, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }[m[2]!] ?? 1;
  return Number(m[1]) * unit;
}

/** The image's size in the store, and as a gzip-compressed archive (what a registry transfers, roughly). */
function imageSizes(tag: string): { uncompressed: number; compressed: number } {
  const uncompressed = Number(
    execFileSync('podman', ['image', 'inspect', '--format', '{{.Size}}', tag], { encoding: 'utf8' }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'image-size-'));
  const archive = join(dir, 'image.tar');
  execFileSync('podman', ['save', '--quiet', '--format', 'oci-archive', '-o', archive, tag]);
  execFileSync('gzip', ['-1', archive]);
  const compressed = statSync(`${archive}.gz`).size;
  execFileSync('rm', ['-rf', dir]);
  return { uncompressed, compressed };
}
