import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { CLI, CliProcess, runCliOnce } from '../support/cli-process.js';
import { sendUdp } from '../support/daemon-harness.js';
import { waitFor } from '../support/wait-for.js';

describe('statsd-sepagent CLI', function () {
  this.timeout(20_000);

  it('--help explains the flags in groups', async () => {
    const r = await runCliOnce(['--help']);
    expect(r.code).to.equal(0);
    for (const s of [
      'Listeners:',
      'Aggregation:',
      'Backends:',
      '--flush-interval',
      'GSD_FLUSH_INTERVAL',
      'check-config',
      'sink',
    ]) {
      expect(r.stdout).to.contain(s);
    }
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await runCliOnce(['--version']);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim()).to.equal(pkg.version);
  });

  it('refuses a Node.js older than package.json engines with one sentence naming the minimum (exit 2)', () => {
    const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
    const minimum = /^>=(\d+\.\d+(?:\.\d+)?)$/.exec(engines)?.[1] ?? '';
    const [major, minor] = minimum.split('.').map(Number) as [number, number];
    // The version the program sees is faked before it runs: no second Node is needed.
    const as = (version: string) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          `data:text/javascript,Object.defineProperty(process,'versions',{value:{...process.versions,node:'${version}'}});Object.defineProperty(process,'version',{value:'v${version}'})`,
          CLI,
          '--version',
        ],
        { encoding: 'utf8' },
      );
    const old = as(`${major}.${minor - 1}.9`);
    expect(old.status).to.equal(2);
    expect(old.stderr).to.match(
      new RegExp(
        `^statsd-sepagent: Node\\.js ${minimum.replaceAll('.', '\\.')}(\\.0)? or later is required; this is v${major}\\.${minor - 1}\\.9`,
      ),
    );
    expect(as(`${major - 2}.20.2`).status).to.equal(2);
    expect(as(`${major}.${minor}.0`).status).to.equal(0);
    expect(as(`${major + 2}.0.0`).status).to.equal(0);
    // The README says the same.
    expect(readFileSync('README.md', 'utf8')).to.contain(`Node.js ≥ ${minimum}`);
  });

  it('installs with npm install -g from its package, and runs from PATH with its shebang', function () {
    this.timeout(180_000);
    const dir = mkdtempSync(join(tmpdir(), 'global-'));
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { encoding: 'utf8' }).trim();
    execFileSync(
      'npm',
      ['install', '-g', '--prefix', join(dir, 'prefix'), '--no-audit', '--no-fund', join(dir, packed)],
      {
        stdio: 'ignore',
      },
    );
    const bin = join(dir, 'prefix', 'bin', 'statsd-sepagent');
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const out = execFileSync(bin, ['--version'], {
      encoding: 'utf8',
      env: { PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
    });
    expect(out.trim()).to.equal(pkg.version);
    const check = spawnSync(bin, ['check-config', 'examples/sepagent.toml'], {
      encoding: 'utf8',
      env: { PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
    });
    expect(check.status, check.stderr).to.equal(0);
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const r = await runCliOnce(['--flush-intervall', '1s']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/Unknown argument: flush-intervall/);
  });

  describe('check-config', () => {
    let dir: string;
    beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'statsd-sepagent-cfg-'))));
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('exits 0 for a valid file', async () => {
      const r = await runCliOnce(['check-config', 'test/fixtures/config/valid-fork.toml']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.contain('OK (backends: sepagent)');
    });

    it('exits 1 and prints every problem with its key path', async () => {
      const r = await runCliOnce(['check-config', 'test/fixtures/config/invalid-many.toml']);
      expect(r.code).to.equal(1);
      for (const p of [
        'backends[1]',
        'flush-interval',
        'percent-threshold[1]',
        'sepagent.port',
        'sepagent.sep_regexp',
        'flush_interval',
      ]) {
        expect(r.stdout).to.contain(`error ${p}:`);
      }
      expect(r.stdout).to.contain('INVALID (11 errors)');
    });

    it('applies GSD_ variables like the daemon does', async () => {
      const file = join(dir, 'c.yaml');
      await writeFile(file, 'backends: null\n');
      const r = await runCliOnce(['check-config', file], { GSD_FLUSH_INTERVAL: 'soon' });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.contain('error flush-interval:');
    });
  });

  it('refuses to start on an invalid config with exit 2 and names the bad keys', async () => {
    const r = await runCliOnce(['--config-path', 'test/fixtures/config/invalid-many.toml']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('sepagent.port: must be between 1 and 65535, got 99999');
  });

  it('exits 1 when the UDP port is taken', async () => {
    const first = new CliProcess(['--backends', 'null', '--metrics-addr', '127.0.0.1:0', '--web-addr', '']);
    try {
      const { udp } = await first.ready();
      const r = await runCliOnce(['--backends', 'null', '--metrics-addr', `127.0.0.1:${udp}`, '--web-addr', '']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('cannot listen on udp');
    } finally {
      await first.stop();
    }
  });

  it('sink prints every document it receives', async () => {
    const sink = new CliProcess(['sink', '--port', '0']);
    try {
      await waitFor(() => /listening on udp 127\.0\.0\.1:(\d+)/.exec(sink.stderr));
      const port = Number(/listening on udp 127\.0\.0\.1:(\d+)/.exec(sink.stderr)![1]);
      const doc =
        '{"sep":"sep1","metrics":[{"instanceId":"sep1","cluster":"external_cluster_sep1","metricType":"counter","aggregationType":"count","statistics":"upstream_rq_total","value":4,"unixTimestamp":1556100410}]}';
      await sendUdp(port, [doc, 'not json']);
      await waitFor(() => sink.stdout.includes('not JSON'));
      expect(sink.stdout).to.contain('sep "sep1"  1 items');
      expect(sink.stdout).to.match(/counter\s+upstream_rq_total\s+count = 4/);
    } finally {
      expect(await sink.stop('SIGINT')).to.equal(0);
    }
  });
});
