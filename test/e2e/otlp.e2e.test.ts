import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { OtlpReceiver } from '../support/otlp-receiver.js';
import { waitFor } from '../support/wait-for.js';

describe('otlp backend (built CLI) into an OTLP/HTTP receiver', function () {
  this.timeout(60_000);
  let dir: string;
  let rx: OtlpReceiver;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otlp-e2e-'));
    rx = await OtlpReceiver.start();
  });
  after(async () => {
    await rx?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('delivers every kind and events with exact values through an outage of the receiver', async () => {
    const config = join(dir, 'config.toml');
    await writeFile(
      config,
      `backends = ["otlp"]
metrics-addr = "127.0.0.1:0"
web-addr = "127.0.0.1:0"
flush-interval = "1s"

[otlp]
endpoint = "${rx.url}"
max_retries = 20
max_request_elapsed_time = 30
resource_attributes = { "service.name" = "e2e" }
`,
    );
    // The receiver is down for the first three attempts (503): intervals wait and merge.
    rx.answers.push(...Array.from({ length: 3 }, () => ({ status: 503, path: '/v1/metrics' })));
    const cli = new CliProcess(['--config-path', config]);
    const { udp, web } = await cli.ready();
    let hits = 0;
    for (let i = 0; i < 40; i++) {
      await sendUdp(udp, [
        `e2e.hits:${(i % 4) + 1}|c|#route:a\ne2e.lat:${i + 1}|ms\ne2e.users:u${i % 7}|s\ne2e.depth:${i}|g`,
      ]);
      hits += (i % 4) + 1;
    }
    await sendUdp(udp, ['_e{6,9}:deploy|rolled v2|t:warning|#team:core']);
    await waitFor(
      async () => metricValue((await httpGet(web, '/metrics')).body, 'statsd_sepagent_lines_received_total') === 161,
    );
    await waitFor(() => rx.logs.length === 1, 20_000, 'the event');
    const sum = (name: string) =>
      rx.points.filter((p) => p.name === name).reduce((t, p) => t + (p.value ?? Number(p.count ?? 0)), 0);
    // The outage's intervals merged and retried: every count arrives once the receiver is back.
    await waitFor(() => sum('e2e.hits') === hits && sum('e2e.lat') === 40, 20_000, 'every count');
    expect(await cli.stop()).to.equal(0);
    const points = rx.points;
    expect(sum('e2e.hits')).to.equal(hits);
    expect(points.filter((p) => p.name === 'e2e.lat').reduce((t, p) => t + (p.sum ?? 0), 0)).to.equal((40 * 41) / 2);
    expect(sum('e2e.lat')).to.equal(40);
    const depth = points.filter((p) => p.name === 'e2e.depth').at(-1);
    expect(depth?.value).to.equal(39);
    expect(Math.max(...points.filter((p) => p.name === 'e2e.users').map((p) => p.value!))).to.be.at.most(7);
    for (const p of points) {
      expect(p.resource['service.name']).to.equal('e2e');
      expect(p.timeNanos > p.startNanos || p.kind === 'gauge').to.equal(true);
    }
    const [log] = rx.logs;
    expect(log).to.deep.include({ body: 'rolled v2', severityText: 'WARN' });
    expect(log!.attributes['title']).to.equal('deploy');
    expect(log!.attributes['team']).to.equal('core');
    expect(rx.answers).to.deep.equal([]);
  });
});
