import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { CliProcess, runCliOnce } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { FakeSepAgentListener, sepagentSection } from '../support/fake-sepagent-listener.js';
import { oneSeries, protoField as field } from '../support/gostatsd-wire.js';
import { waitFor } from '../support/wait-for.js';

const LISTEN = ['--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0'];
const DEEP_JSON = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
/** Six levels of YAML aliases, each nine times the one before: half a million strings from 300 bytes. */
const ALIAS_BOMB =
  'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n' +
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n' +
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\nmappings: [*f]\n';
const SEP_LINE = 'envoy.cluster.external_cluster_sep1.upstream_rq_total';

function writeFiles(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/**
 * Scrapes the daemon's /metrics, keeping the longest event-loop stall seen by any scrape
 * since {@link resetStall}: prom-client's `nodejs_eventloop_lag_max_seconds` covers the
 * time since the previous scrape.
 */
let longestStall = 0;
async function metrics(web: number): Promise<string> {
  const page = (await httpGet(web, '/metrics')).body;
  longestStall = Math.max(
    longestStall,
    metricValue(page, 'statsd_sepagent_nodejs_eventloop_lag_max_seconds') ?? Infinity,
  );
  return page;
}
async function resetStall(web: number): Promise<void> {
  await metrics(web);
  longestStall = 0;
}

describe('hostile input: attacks answered within their bounds (built CLI)', function () {
  this.timeout(60_000);
  let cli: CliProcess | undefined;
  let agent: FakeSepAgentListener | undefined;
  afterEach(async () => {
    if (cli !== undefined && cli.exitCode === undefined) await cli.stop('SIGKILL');
    cli = undefined;
    await agent?.close();
    agent = undefined;
  });

  it('a pattern that backtracks in JavaScript, fed the name that makes it explode, stalls nothing', async () => {
    agent = await FakeSepAgentListener.start();
    const dir = writeFiles({
      'mapping.yaml': `mappings:\n  - match: '(a+)+$'\n    match_type: regex\n    name: evil\n`,
    });
    writeFileSync(
      join(dir, 'config.toml'),
      `backends = ["sepagent", "prometheus"]\nflush-interval = "200ms"\n` +
        `[sepagent]\nport = ${agent.port}\nsep_regexp = '(a+)+$'\ncluster_regexp = 'c(a+)+$'\n` +
        `[prometheus]\nmapping-config = ${JSON.stringify(join(dir, 'mapping.yaml'))}\n`,
    );
    cli = new CliProcess(['--config-path', join(dir, 'config.toml'), ...LISTEN]);
    const ports = await cli.ready();
    await resetStall(ports.web);
    // 40 `a`s then a `b`: a backtracking engine needs about 2^40 steps for each pattern.
    // The longest name accepted (1,024 bytes) of the quadratic kind comes with it.
    const evil = `${'a'.repeat(40)}b`;
    await sendUdp(ports.udp, [`${evil}:1|c\n${'c'.repeat(1000)}${'a'.repeat(24)}:1|c\nfine:1|c`]);
    await waitFor(
      async () => (metricValue(await metrics(ports.web), 'statsd_sepagent_flushes_total') ?? 0) >= 3,
      10_000,
      'three flushes after the attack',
    );
    expect((await httpGet(ports.web, '/healthz')).status).to.equal(200);
    const page = await metrics(ports.web);
    expect(page).to.match(/^fine 1$/m);
    expect(longestStall).to.be.lessThan(0.05);
    expect(metricValue(page, 'statsd_sepagent_samples_received_total{type="counter"}')).to.equal(3);
  });

  it('a config document nested 100,000 deep: start-up exits 2 and check-config 1, each with one clear line and no stack trace', async () => {
    const dir = writeFiles({ 'deep.json': DEEP_JSON });
    const start = await runCliOnce(['--config-path', join(dir, 'deep.json'), ...LISTEN]);
    expect(start.code).to.equal(2);
    expect(start.stderr).to.contain('nested deeper than the limit of 32 levels');
    expect(start.stderr).to.not.match(/\n\s+at /);
    const check = await runCliOnce(['check-config', join(dir, 'deep.json')]);
    expect(check.code).to.equal(1);
    expect(check.stdout).to.contain('nested deeper than the limit of 32 levels');
    expect(check.stdout + check.stderr).to.not.match(/\n\s+at /);
  });

  it('SIGHUPs from the first moment the process handles signals, all through start-up, never end it', async function () {
    this.timeout(60_000);
    const dir = writeFiles({ 'config.toml': 'backends = "null"\n' });
    for (let run = 0; run < 5; run++) {
      cli = new CliProcess(['--config-path', join(dir, 'config.toml'), ...LISTEN]);
      const pid = cli.child.pid!;
      // The entry point installs its SIGHUP listener before it loads anything else.
      await waitFor(() => hangupCaught(pid), 10_000, 'SIGHUP caught');
      let sent = 0;
      while (!cli.logs().some((l) => l['msg'] === 'statsd-sepagent started') && cli.exitCode === undefined) {
        cli.child.kill('SIGHUP');
        sent++;
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(cli.exitCode, `run ${run}: ended after ${sent} SIGHUPs: ${cli.stderr.slice(-300)}`).to.equal(undefined);
      expect(await cli.stop()).to.equal(0);
    }
  });

  it('hostile edits of the config file, a mapping file and SIGHUP are rejected and counted; the daemon delivers every sample', async () => {
    agent = await FakeSepAgentListener.start();
    const dir = writeFiles({ 'mapping.yaml': 'mappings: []\n' });
    const config = join(dir, 'config.toml');
    const good =
      `backends = ["sepagent", "prometheus"]\nflush-interval = "200ms"\n${sepagentSection(agent.port)}` +
      `[prometheus]\nmapping-config = ${JSON.stringify(join(dir, 'mapping.yaml'))}\n`;
    writeFileSync(config, good);
    cli = new CliProcess(['--config-path', config, ...LISTEN]);
    const ports = await cli.ready();
    const failures = async (): Promise<number> =>
      metricValue(await metrics(ports.web), 'statsd_sepagent_config_reloads_total{result="failure"}') ?? 0;
    let sent = 0;
    const send = async (): Promise<void> => {
      await sendUdp(ports.udp, [`${SEP_LINE}:1|c`]);
      sent++;
    };

    await send();
    // 1. The file becomes a TOML document nested past the limit.
    writeFileSync(config, `a = ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    await waitFor(async () => (await failures()) >= 1, 10_000, 'the nested document rejected');
    await send();
    // 2. SIGHUP re-reads the same bad document: rejected and counted again.
    cli.child.kill('SIGHUP');
    await waitFor(async () => (await failures()) >= 2, 10_000, 'the SIGHUP reload rejected');
    // 3. A good document back (a comment more, so it reloads), then an alias bomb in the
    //    mapping file it follows.
    writeFileSync(config, `# restored\n${good}`);
    await waitFor(
      async () =>
        (await failures()) >= 2 && cli!.logs().some((l) => String(l['msg']).startsWith('configuration reloaded')),
      10_000,
      'the restored document applied',
    );
    writeFileSync(join(dir, 'mapping.yaml'), ALIAS_BOMB);
    await waitFor(async () => (await failures()) >= 3, 10_000, 'the mapping edit rejected');
    await send();
    const page = await metrics(ports.web);
    expect(metricValue(page, 'statsd_sepagent_config_last_reload_successful')).to.equal(0);
    const rejected = cli.logs().filter((l) => String(l['msg']).startsWith('configuration rejected'));
    expect(rejected.map((l) => String(l['msg']))).to.satisfy(
      (msgs: string[]) =>
        msgs.some((m) => m.includes('nested')) && msgs.some((m) => /alias|more than the limit/.test(m)),
    );
    expect(cli.stderr).to.not.match(/\n\s+at /);
    // Still running, and SIGTERM delivers every sample in a final flush.
    expect((await httpGet(ports.web, '/healthz')).status).to.equal(200);
    expect(await cli.stop()).to.equal(0);
    await agent.drain();
    expect(agent.counterTotal('upstream_rq_total')).to.equal(sent);
  });

  it('/v2/raw under amplification attacks: inflation bombs, decode bombs and slow bodies stay within the memory limit', async function () {
    this.timeout(120_000);
    agent = await FakeSepAgentListener.start();
    const dir = writeFiles({
      'config.toml':
        `backends = "sepagent"\nflush-interval = "500ms"\nhttp-servers = "main"\n${sepagentSection(agent.port)}` +
        `[http.main]\naddress = "127.0.0.1:0"\nenable-ingestion = true\nread-timeout = "2s"\n`,
    });
    cli = new CliProcess(['--config-path', join(dir, 'config.toml'), ...LISTEN]);
    const ports = await cli.ready();
    const port = ports.http['main']!;
    await resetStall(ports.web);
    const stalls: number[] = [];
    const stallSince = async (): Promise<number> => {
      await metrics(ports.web);
      const s = longestStall;
      longestStall = 0;
      return s;
    };
    const peak = (): number => peakRssBytes(cli!.child.pid!);
    const before = peak();
    // 0: the connection closed while the body was still being sent (refused before it was read).
    const post = (body: Buffer): Promise<number> =>
      fetch(`http://127.0.0.1:${port}/v2/raw`, {
        method: 'POST',
        body,
        headers: { 'content-encoding': 'deflate' },
      }).then(
        (r) => r.status,
        () => 0,
      );
    // Single inputs first: each alone may stall the loop 50 ms at most.
    const bomb = timerBomb(7_900_000); // a timer of 7.9 million values from 62 KB
    const inflation = deflateSync(Buffer.alloc(1024 ** 3), { level: 9 }); // 1 MB inflating past max-message-size
    const tags = tagBomb(20_000_000); // twenty million one-byte tags in one series
    const single: number[] = [];
    for (const [body, status] of [
      [bomb, 202],
      [inflation, 413],
      [tags, 202],
    ] as const) {
      await stallSince();
      expect(await post(body)).to.equal(status);
      single.push(await stallSince());
    }
    // Then floods (many inputs at once): bounded in memory; their stalls are reported.
    // 1. Twelve decode bombs at once.
    const decoded = await Promise.all(Array.from({ length: 12 }, () => post(bomb)));
    stalls.push(await stallSince());
    expect(
      decoded.every((s) => s === 202 || s === 503 || s === 0),
      String(decoded),
    ).to.equal(true);
    // 2. Forty inflation bombs at once.
    const inflated = await Promise.all(Array.from({ length: 40 }, () => post(inflation)));
    stalls.push(await stallSince());
    expect(
      inflated.every((s) => s === 413 || s === 503 || s === 0),
      String(inflated),
    ).to.equal(true);
    // 3. A hundred and fifty bodies just under max-body-size (8 MiB), sent without end.
    const slow = await Promise.all(Array.from({ length: 150 }, () => slowBody(port, 8 * 1024 ** 2 - 1024)));
    stalls.push(await stallSince());
    expect(slow.every((s) => /^HTTP\/1\.1 (408|503)/.test(s) || s === 'closed')).to.equal(true);
    const page = await metrics(ports.web);
    expect(
      metricValue(page, 'statsd_sepagent_forwarded_series_rejected_total{reason="too_many_values"}'),
    ).to.be.greaterThan(0);
    expect(metricValue(page, 'statsd_sepagent_forwarded_series_rejected_total{reason="too_many_tags"}')).to.equal(1);
    expect(
      metricValue(page, 'statsd_sepagent_http_ingest_requests_total{server="main",result="too_large"}'),
    ).to.be.at.least(1);
    expect(
      metricValue(page, 'statsd_sepagent_http_ingest_requests_total{server="main",result="busy"}'),
    ).to.be.greaterThan(0);
    const rss = peak();
    console.log(
      `      peak RSS ${(before / 2 ** 20).toFixed(0)} MB at start, ${(rss / 2 ** 20).toFixed(0)} MB after the attacks; ` +
        `longest stall ${single.map((x) => (x * 1000).toFixed(1)).join(' / ')} ms for one decode bomb / inflation bomb / tag bomb, ` +
        `${stalls.map((x) => (x * 1000).toFixed(1)).join(' / ')} ms in the floods of 12 decode bombs / 40 inflation bombs / 150 slow bodies`,
    );
    // The aggregation tier's memory limit in the chart is 1 GiB; the budget keeps it far below.
    expect(rss).to.be.lessThan(512 * 2 ** 20);
    for (const x of single) expect(x).to.be.lessThan(0.05);
    // Still serving, and SIGTERM's final flush delivers a forwarded counter.
    await sendUdp(ports.udp, [`${SEP_LINE}:3|c`]);
    expect(await cli.stop()).to.equal(0);
    await agent.drain();
    expect(agent.counterTotal('upstream_rq_total')).to.equal(3);
  });

  it('TCP: 2,000 connections each holding a 65,000-byte partial line are capped at tcp-max-connections; memory stays bounded', async function () {
    this.timeout(60_000);
    agent = await FakeSepAgentListener.start();
    const dir = writeFiles({
      'config.toml': `backends = "sepagent"\nflush-interval = "500ms"\n${sepagentSection(agent.port)}`,
    });
    cli = new CliProcess(['--config-path', join(dir, 'config.toml'), ...LISTEN, '--tcp-addr', '127.0.0.1:0']);
    const ports = await cli.ready();
    const before = peakRssBytes(cli.child.pid!);
    const partial = Buffer.alloc(65_000, 0x61);
    const sockets = await Promise.all(
      Array.from(
        { length: 2_000 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(ports.tcp!, '127.0.0.1', () => s.write(partial, () => resolve(s)));
            s.on('error', () => resolve(s));
          }),
      ),
    );
    await waitFor(
      async () =>
        (metricValue(
          await metrics(ports.web),
          'statsd_sepagent_connections_closed_total{listener="tcp",reason="limit"}',
        ) ?? 0) >=
        2_000 - 1_024,
      20_000,
      'the connections past the cap refused',
    );
    const rss = peakRssBytes(cli.child.pid!);
    console.log(
      `      peak RSS ${(before / 2 ** 20).toFixed(0)} MB before, ${(rss / 2 ** 20).toFixed(0)} MB with 1,024 connections holding 65,000 bytes each`,
    );
    expect(rss).to.be.lessThan(512 * 2 ** 20);
    for (const s of sockets) s.destroy();
    // A new connection is served once the others are gone.
    await waitFor(async () => {
      const s = net.connect(ports.tcp!, '127.0.0.1');
      s.on('error', () => undefined);
      s.end(`${SEP_LINE}:1|c\n`);
      await new Promise((r) => s.once('close', r));
      return (metricValue(await metrics(ports.web), 'statsd_sepagent_samples_received_total{type="counter"}') ?? 0) > 0;
    }, 10_000);
    expect(await cli.stop()).to.equal(0);
  });
});

/** Whether a process has a handler for SIGHUP (bit 0 of SigCgt in /proc/PID/status). */
function hangupCaught(pid: number): boolean {
  try {
    const m = /SigCgt:\s+([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m !== null && (BigInt(`0x${m[1]}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** The peak resident memory of a process (VmHWM), in bytes. */
function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** A timer of `n` packed zero values. */
const timerBomb = (n: number): Buffer => oneSeries(4, field(0x22, Buffer.alloc(n * 8)));

/** A set series with `n` one-byte tags. */
function tagBomb(n: number): Buffer {
  const tag = Buffer.from([0x0a, 0x01, 0x78]);
  return oneSeries(3, Buffer.concat(Array.from({ length: n }, () => tag)));
}

/** Sends the head of a /v2/raw request and `bytes` of body, never the rest; resolves with the answer's status line. */
function slowBody(port: number, bytes: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got === '' ? 'closed' : got.split('\r\n')[0]!));
    s.write(`POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: ${bytes + 1024}\r\n\r\n`);
    s.write(Buffer.alloc(bytes));
  });
}
