import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Carbon } from '../support/carbon.js';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { FakeSepAgentListener } from '../support/fake-sepagent-listener.js';
import { Tsdb } from '../support/tsdb.js';
import { waitFor } from '../support/wait-for.js';

const P = 'envoy.cluster.external_cluster_sep7.upstream_rq_total';

describe('sepagent, graphite and prometheus-remote-write in one daemon (built CLI, real carbon and VictoriaMetrics)', function () {
  this.timeout(90_000);
  let dir: string;
  let carbon: Carbon;
  let vm: Tsdb;
  let agent: FakeSepAgentListener;
  before(async function () {
    if (!Carbon.available() || !Tsdb.available('victoria-metrics')) {
      throw new Error(
        'carbon-cache, whisper-fetch or victoria-metrics is not installed (npm test installs them: scripts/get-peers.sh)',
      );
    }
    dir = await mkdtemp(join(tmpdir(), 'backends-e2e-'));
    [carbon, vm, agent] = await Promise.all([
      Carbon.start(),
      Tsdb.start('victoria-metrics'),
      FakeSepAgentListener.start(),
    ]);
  });
  after(async () => {
    await carbon?.close();
    await vm?.close();
    await agent?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('every backend gets the same consolidated interval: the same count at SepAgent, carbon and VictoriaMetrics (flush-thread: UDP read on its own thread)', async () => {
    const config = join(dir, 'config.toml');
    await writeFile(
      config,
      `backends = ["sepagent", "graphite", "prometheus-remote-write"]
metrics-addr = "127.0.0.1:0"
web-addr = "127.0.0.1:0"
max-workers = 1
flush-thread = true
flush-interval = "1h"

[sepagent]
host = "127.0.0.1"
port = ${agent.port}
sep_regexp = 'sep([0-9]+)'
cluster_regexp = 'external_cluster_sep([0-9]+)'

[graphite]
address = "127.0.0.1:${carbon.port}"

[prometheus-remote-write]
url = "${vm.writeUrl}"
`,
    );
    const cli = new CliProcess(['--config-path', config]);
    const { udp, web } = await cli.ready();
    let total = 0;
    for (let i = 0; i < 50; i++) {
      await sendUdp(udp, [`${P}:${i % 5}|c\n${P}:2|c|@0.5`]);
      total += (i % 5) + 4;
    }
    await waitFor(
      async () => metricValue((await httpGet(web, '/metrics')).body, 'statsd_sepagent_lines_received_total') === 100,
    );
    // One interval (the final flush) goes to all three.
    const stopAt = Math.floor(Date.now() / 1000);
    expect(await cli.stop()).to.equal(0);
    await agent.drain();
    expect(agent.counterTotal('upstream_rq_total')).to.equal(total);
    const second = await waitForStoredSecond(carbon, `stats_counts.${P}`, stopAt);
    expect(carbon.point(`stats_counts.${P}`, second)).to.equal(total);
    expect(await vm.until(P.replaceAll('.', '_'), total)).to.equal(total);
  });
});

/** The second at or after `from` that carbon stored a point for `path`. */
async function waitForStoredSecond(carbon: Carbon, path: string, from: number): Promise<number> {
  return waitFor(
    () => {
      for (let ts = from; ts <= from + 5; ts++) if (carbon.point(path, ts) !== undefined) return ts;
      return undefined;
    },
    20_000,
    `carbon to store ${path}`,
  );
}
