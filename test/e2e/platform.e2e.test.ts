import { expect } from 'chai';
import dgram from 'node:dgram';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue } from '../support/daemon-harness.js';
import { FakeSepAgentListener } from '../support/fake-sepagent-listener.js';
import { waitFor } from '../support/wait-for.js';

const NAME = 'envoy.cluster.external_cluster_sep1.upstream_rq_total';
const SEP = `sep_regexp = 'sep([0-9]+)'\ncluster_regexp = 'external_cluster_sep([0-9]+)'\n`;

function config(mainPort: number, canaryPort: number): string {
  return (
    `backends = ["sepagent", "sepagent.canary", "stdout"]\nflush-interval = "200ms"\n` +
    `[sepagent]\nport = ${mainPort}\n${SEP}` +
    `[sepagent.canary]\nport = ${canaryPort}\n${SEP}`
  );
}

async function sendUdp(port: number, text: string): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.send(text, port, '127.0.0.1', () => resolve()));
  s.close();
}

async function sendTcp(port: number, text: string): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => s.end(text, () => resolve()));
}

/** Sum of the counts the stdout backend printed for NAME. */
function stdoutTotal(cli: CliProcess): number {
  let n = 0;
  for (const line of cli.stdout.split('\n')) {
    if (line.startsWith(`stats.counter.${NAME}.`) && line.includes('.count ')) n += Number(line.split(' ')[1]);
  }
  return n;
}

describe('several outputs and receivers in one daemon (built CLI)', function () {
  this.timeout(30_000);

  it('two backend types, two instances of one type and the TCP receiver; a reload changing one instance keeps the others', async () => {
    const [main, canary, canary2] = [
      await FakeSepAgentListener.start(),
      await FakeSepAgentListener.start(),
      await FakeSepAgentListener.start(),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'platform-'));
    const file = join(dir, 'config.toml');
    writeFileSync(file, config(main.port, canary.port));
    const cli = new CliProcess([
      '--config-path',
      file,
      '--metrics-addr',
      '127.0.0.1:0',
      '--tcp-addr',
      '127.0.0.1:0',
      '--web-addr',
      '127.0.0.1:0',
      '--log-format',
      'json',
    ]);
    try {
      const ports = await cli.ready();
      await sendUdp(ports.udp, `${NAME}:3|c`);
      await sendTcp(ports.tcp!, `${NAME}:4|c\n`);
      await waitFor(
        () => main.counterTotal('upstream_rq_total') === 7 && canary.counterTotal('upstream_rq_total') === 7,
        10_000,
        'both instances to receive 7',
      );
      await waitFor(() => stdoutTotal(cli) === 7, 5000, 'stdout to print 7');
      const mainSocket = main.documents[0]!.from;

      // Move only the canary instance.
      writeFileSync(file + '.new', config(main.port, canary2.port));
      renameSync(file + '.new', file);
      const reloaded = await cli.waitForLog('configuration reloaded');
      expect(reloaded['backendsStarted']).to.deep.equal(['sepagent.canary']);
      expect(reloaded['backendsStopped']).to.deep.equal(['sepagent.canary']);
      expect(reloaded['changed']).to.deep.equal(['[sepagent.canary]']);

      await sendUdp(ports.udp, `${NAME}:5|c`);
      await waitFor(
        () => main.counterTotal('upstream_rq_total') === 12 && canary2.counterTotal('upstream_rq_total') === 5,
        10_000,
        'the kept instance and the new canary to receive 5',
      );
      await waitFor(() => stdoutTotal(cli) === 12, 5000, 'stdout to print 12 in all');
      expect(canary.counterTotal('upstream_rq_total')).to.equal(7); // the old canary got nothing after the swap
      // The kept instance still sends from the socket it had: it was not recreated.
      expect(new Set(main.documents.map((d) => d.from))).to.deep.equal(new Set([mainSocket]));

      const text = (await httpGet(ports.web, '/metrics')).body;
      for (const b of ['sepagent', 'sepagent.canary', 'stdout'])
        expect(
          metricValue(text, `statsd_sepagent_backend_flushes_total{backend="${b}",result="success"}`),
          b,
        ).to.be.above(0);
      expect(metricValue(text, 'statsd_sepagent_datagrams_received_total{transport="tcp"}')).to.equal(1);
      expect(await cli.stop()).to.equal(0);
    } finally {
      if (cli.exitCode === undefined) await cli.stop('SIGKILL');
      for (const a of [main, canary, canary2]) await a.close();
    }
  });
});
