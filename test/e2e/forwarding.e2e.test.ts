import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { FakeSepAgentListener, type ReceivedDocument } from '../support/fake-sepagent-listener.js';
import { waitFor } from '../support/wait-for.js';

const P = 'envoy.cluster.external_cluster_';
/** One round of input: counters and timers with sample rates, a gauge, a set, a name no SEP matches. */
const ROUND = [
  `${P}sep1.upstream_rq_total:1|c\n${P}sep1.upstream_rq_total:3|c|@0.5\n${P}sep1.upstream_rq_time:12|ms`,
  `${P}sep1.upstream_rq_time:30|ms|@0.5\n${P}sep1.membership_healthy:4|g\n${P}sep2.upstream_rq_total:7|c`,
  `${P}sep2.upstream_rq_time:5|ms|#route:a\n${P}sep2.users:u1|s\nenvoy.server.live:1|c`,
];
const LINES_PER_ROUND = ROUND.join('\n').split('\n').length;
/** Per round: sep1 counts 1 + 3/0.5 = 7 and sep2 7; timers count 1 + 2 (sep1) and 1 (sep2). */
const ROUNDS = 40;
const COUNTED = 14 * ROUNDS;
const TIMED = 4 * ROUNDS;

const SEPAGENT = `
[sepagent]
host = "127.0.0.1"
port = %PORT%
sep_regexp = 'sep([0-9]+)'
cluster_regexp = 'external_cluster_sep([0-9]+)'
`;

function timerCount(agent: FakeSepAgentListener, statistics: string): number {
  let n = 0;
  for (const d of agent.documents)
    for (const m of d.metrics)
      if (m.metricType === 'timers' && m.aggregationType === 'count' && m.statistics === statistics) n += m.value;
  return n;
}

/** The documents with data, timing-dependent values replaced, sorted by SEP. */
function normalise(docs: ReceivedDocument[]): unknown[] {
  return docs
    .filter((d) => d.metrics.some((m) => m.value !== 0))
    .map((d) => ({
      sep: d.sep,
      metrics: d.metrics.map((m) => ({
        ...m,
        unixTimestamp: 'T',
        value: m.aggregationType === 'per_second' || m.aggregationType === 'count_ps' ? 'RATE' : m.value,
      })),
    }))
    .sort((a, b) => a.sep.localeCompare(b.sep));
}

async function sendRounds(port: number): Promise<void> {
  for (let i = 0; i < ROUNDS; i++) await sendUdp(port, ROUND);
}

async function linesReceived(web: number): Promise<number> {
  return metricValue((await httpGet(web, '/metrics')).body, 'statsd_sepagent_lines_received_total') ?? 0;
}

describe('two tiers: forwarder → /v2/raw aggregation (built CLI)', function () {
  this.timeout(60_000);
  let dir: string;
  const procs: CliProcess[] = [];
  const agents: FakeSepAgentListener[] = [];
  const start = (args: string[]): CliProcess => {
    const p = new CliProcess(args);
    procs.push(p);
    return p;
  };
  const agent = async (): Promise<FakeSepAgentListener> => {
    const a = await FakeSepAgentListener.start();
    agents.push(a);
    return a;
  };
  const config = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'statsd-sepagent-fwd-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL');
    for (const a of agents.splice(0)) await a.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('daemon A (forwarder) → daemon B (ingestion + SepAgent) gives what one daemon gives for the same input', async () => {
    const [agentB, agentC] = [await agent(), await agent()];
    const common = 'metrics-addr = "127.0.0.1:0"\nweb-addr = "127.0.0.1:0"\nmax-workers = 1\n';
    const b = start([
      '--config-path',
      await config(
        'b.toml',
        `${common}backends = "sepagent"\nflush-interval = "1h"\nhttp-servers = "main"\n[http.main]\naddress = "127.0.0.1:0"\nenable-ingestion = true\n` +
          SEPAGENT.replace('%PORT%', String(agentB.port)),
      ),
    ]);
    const c = start([
      '--config-path',
      await config(
        'c.toml',
        `${common}backends = "sepagent"\nflush-interval = "1h"\n` + SEPAGENT.replace('%PORT%', String(agentC.port)),
      ),
    ]);
    const bPorts = await b.ready();
    const a = start([
      '--config-path',
      await config(
        'a.toml',
        `${common}server-mode = "forwarder"\n[http-transport]\napi-endpoint = "http://127.0.0.1:${bPorts.http['main']}"\nflush-interval = "100ms"\n`,
      ),
    ]);
    const [aPorts, cPorts] = [await a.ready(), await c.ready()];
    await Promise.all([sendRounds(aPorts.udp), sendRounds(cPorts.udp)]);
    await waitFor(
      async () => (await linesReceived(aPorts.web)) === LINES_PER_ROUND * ROUNDS,
      10_000,
      'A to receive every line',
    );
    await waitFor(
      async () => (await linesReceived(cPorts.web)) === LINES_PER_ROUND * ROUNDS,
      10_000,
      'C to receive every line',
    );
    // A drains into B, then B and C flush once at shutdown.
    expect(await a.stop()).to.equal(0);
    expect(await b.stop()).to.equal(0);
    expect(await c.stop()).to.equal(0);
    await agentB.drain();
    await agentC.drain();
    expect(agentB.counterTotal('upstream_rq_total')).to.equal(COUNTED);
    expect(timerCount(agentB, 'upstream_rq_time')).to.equal(TIMED);
    expect(normalise(agentB.documents)).to.deep.equal(normalise(agentC.documents));
  });
});
