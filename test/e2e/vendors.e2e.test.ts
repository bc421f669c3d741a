import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { close } from '../../src/shared/listen.js';
import { CLI, CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { waitFor } from '../support/wait-for.js';

/** A vendor API stand-in that refuses every request with 403 and the vendor's message. */
async function refusingVendor(): Promise<{
  port: number;
  seen: http.IncomingHttpHeaders[];
  close: () => Promise<void>;
}> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () =>
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"errors":["Forbidden: invalid API key"]}'),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    seen,
    close: () => (server.closeAllConnections(), close(server)),
  };
}

describe('vendor backends: credentials never leak (built CLI)', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vendors-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('datadog: a refused key is counted and the vendor message logged; the key is in no log, metric or check-config output', async () => {
    const KEY = 'd3adb33fcafe0123456789';
    const vendor = await refusingVendor();
    const config = join(dir, 'config.toml');
    await writeFile(
      config,
      `backends = "datadog"\nmetrics-addr = "127.0.0.1:0"\nweb-addr = "127.0.0.1:0"\nflush-interval = "200ms"\n` +
        `[datadog]\napi_key = "${KEY}"\napi_endpoint = "http://127.0.0.1:${vendor.port}"\n`,
    );
    const check = execFileSync(process.execPath, [CLI, 'check-config', config], { encoding: 'utf8' });
    expect(check).to.match(/OK/);
    expect(check).to.not.contain(KEY);
    const cli = new CliProcess(['--config-path', config]);
    try {
      const { udp, web } = await cli.ready();
      await sendUdp(udp, ['vendor.hits:1|c']);
      await waitFor(
        async () =>
          (metricValue(
            (await httpGet(web, '/metrics')).body,
            'statsd_sepagent_backend_items_dropped_total{backend="datadog",reason="rejected"}',
          ) ?? 0) > 0,
        10_000,
        'a rejected batch',
      );
      expect(vendor.seen[0]!['dd-api-key']).to.equal(KEY); // it was sent to the vendor, in a header
      const page = (await httpGet(web, '/metrics')).body;
      expect(page).to.not.contain(KEY);
      await cli.waitForLog('datadog attempt failed');
      expect(cli.stderr).to.contain('Forbidden: invalid API key');
    } finally {
      await cli.stop();
      await vendor.close();
    }
    expect(cli.stderr + cli.stdout).to.not.contain(KEY);
  });
});
