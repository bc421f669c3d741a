import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { FakeSepAgentListener } from '../support/fake-sepagent-listener.js';
import { waitFor } from '../support/wait-for.js';

const P = 'envoy.cluster.external_cluster_';

async function configFile(dir: string, agentPort: number, extra = ''): Promise<string> {
  const path = join(dir, 'config.toml');
  await writeFile(
    path,
    `backends = "sepagent"
max-workers = 4
metrics-addr = "127.0.0.1:0"
web-addr = "127.0.0.1:0"
${extra}
[sepagent]
host = "127.0.0.1"
port = ${agentPort}
sep_regexp = 'sep([0-9]+)'
cluster_regexp = 'external_cluster_sep([0-9]+)'
`,
  );
  return path;
}

/** Replaces the values that depend on wall-clock timing with placeholders. */
function normalise(raw: string): unknown {
  const doc = JSON.parse(raw) as { metrics: Array<Record<string, unknown>> };
  for (const m of doc.metrics) {
    m['unixTimestamp'] = 'T';
    if (m['aggregationType'] === 'per_second' || m['aggregationType'] === 'count_ps') m['value'] = 'RATE';
  }
  return doc;
}

describe('statsd-sepagent daemon (built CLI as a child process)', function () {
  this.timeout(30_000);
  let dir: string;
  let agent: FakeSepAgentListener;
  let cli: CliProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'statsd-sepagent-e2e-'));
    agent = await FakeSepAgentListener.start();
  });
  afterEach(async () => {
    await cli?.stop('SIGKILL');
    cli = undefined;
    await agent.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('turns StatsD datagrams into the SepAgent documents of the reference (E5)', async () => {
    cli = new CliProcess(['--config-path', await configFile(dir, agent.port, 'flush-interval = "300ms"')]);
    const { udp } = await cli.ready();
    await sendUdp(udp, [
      `${P}sep1.upstream_rq_total:4|c\n${P}sep2.upstream_rq_total:6|c\nenvoy.cluster.local_service.upstream_rq_total:9|c\nenvoy.server.live:1|g`,
      `${P}sep2.upstream_cx_active:2|g`,
      `${P}sep12.upstream_rq_2xx:7|c`,
    ]);
    await waitFor(() => agent.counterTotal('upstream_rq_total') + agent.counterTotal('upstream_rq_2xx') === 17, 10_000);
    const bySep = new Map<string, unknown>();
    for (const d of agent.documents)
      if (!bySep.has(d.sep) && d.metrics.some((m) => m.value !== 0)) bySep.set(d.sep, normalise(d.raw));
    const item = (sep: string, metricType: string, aggregationType: string, statistics: string, value: unknown) => ({
      instanceId: sep,
      cluster: `external_cluster_${sep}`,
      metricType,
      aggregationType,
      statistics,
      value,
      unixTimestamp: 'T',
    });
    expect(Object.fromEntries(bySep)).to.deep.equal({
      sep1: {
        sep: 'sep1',
        metrics: [
          item('sep1', 'counter', 'count', 'upstream_rq_total', 4),
          item('sep1', 'counter', 'per_second', 'upstream_rq_total', 'RATE'),
        ],
      },
      sep2: {
        sep: 'sep2',
        metrics: [
          item('sep2', 'counter', 'count', 'upstream_rq_total', 6),
          item('sep2', 'counter', 'per_second', 'upstream_rq_total', 'RATE'),
          item('sep2', 'gauge', 'value', 'upstream_cx_active', 2),
        ],
      },
      sep12: {
        sep: 'sep12',
        metrics: [
          item('sep12', 'counter', 'count', 'upstream_rq_2xx', 7),
          item('sep12', 'counter', 'per_second', 'upstream_rq_2xx', 'RATE'),
        ],
      },
    });
    // Keys are in the reference's order, compact, and the timestamp is the flush second.
    const raw = agent.documents.find((d) => d.sep === 'sep1')!.raw;
    expect(raw).to.match(
      /^\{"sep":"sep1","metrics":\[\{"instanceId":"sep1","cluster":"external_cluster_sep1","metricType":"counter","aggregationType":"count","statistics":"upstream_rq_total","value":4,"unixTimestamp":\d{10}\},/,
    );
  });

  it('delivers everything received before SIGTERM in a final flush, then exits 0', async () => {
    cli = new CliProcess(['--config-path', await configFile(dir, agent.port, 'flush-interval = "1h"')]);
    const { udp } = await cli.ready();
    await sendUdp(
      udp,
      Array.from({ length: 50 }, () => `${P}sep7.upstream_rq_total:2|c`),
    );
    await waitFor(async () => {
      const m = (await httpGet((await cli!.ready()).web, '/metrics')).body;
      return metricValue(m, 'statsd_sepagent_samples_received_total{type="counter"}') === 50;
    });
    expect(agent.documents).to.have.length(0);
    expect(await cli.stop('SIGTERM')).to.equal(0);
    await agent.waitForDocuments(1);
    expect(agent.counterTotal('upstream_rq_total')).to.equal(100);
    expect(cli.logs().map((l) => l['msg'])).to.include('statsd-sepagent stopped');
  });

  it('keeps running while SepAgent is down, counts the errors on /metrics, and resumes delivery', async () => {
    const port = agent.port;
    await agent.close();
    cli = new CliProcess(['--config-path', await configFile(dir, port, 'flush-interval = "100ms"')]);
    const { udp, web } = await cli.ready();
    const send = () => sendUdp(udp, [`${P}sep3.upstream_rq_total:1|c`]);
    await waitFor(async () => {
      await send();
      const m = (await httpGet(web, '/metrics')).body;
      return (
        (metricValue(m, 'statsd_sepagent_backend_send_errors_total{backend="sepagent",code="ECONNREFUSED"}') ?? 0) >= 2
      );
    }, 10_000);
    expect(cli.exitCode).to.equal(undefined);
    agent = await FakeSepAgentListener.start(port);
    await waitFor(async () => {
      await send();
      return agent.counterTotal('upstream_rq_total') > 0;
    }, 10_000);
    const m = (await httpGet(web, '/metrics')).body;
    expect(
      metricValue(m, 'statsd_sepagent_backend_flushes_total{backend="sepagent",result="success"}'),
    ).to.be.greaterThan(0);
  });

  it('writes the stdout backend to standard output and logs text with --log-format text', async () => {
    cli = new CliProcess([
      '--backends',
      'stdout',
      '--metrics-addr',
      '127.0.0.1:0',
      '--web-addr',
      '',
      '--flush-interval',
      '200ms',
      '--log-format',
      'text',
      '--verbose',
    ]);
    await waitFor(() => /INFO statsd-sepagent started/.test(cli!.stderr));
    const port = Number(/udp receiver listening address="[^"]*:(\d+)"/.exec(cli.stderr)![1]);
    await sendUdp(port, ['web.requests:3|c|#route:home']);
    await waitFor(() => cli!.stdout.includes('stats.counter.web.requests.route.home.s.127.0.0.1.count 3 '));
  });
});
