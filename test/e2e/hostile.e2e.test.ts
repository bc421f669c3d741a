import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { FakeSepAgentListener } from '../support/fake-sepagent-listener.js';
import { waitFor } from '../support/wait-for.js';

const LISTEN = ['--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0'];

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
});
