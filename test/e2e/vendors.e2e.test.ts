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

/**
 * A peer that refuses every request (400, so no retries) and echoes it back in the answer:
 * its headers and the start of its body, as a misconfigured proxy would.
 */
/** The request's headers as an echo shows them, the credentials first (the log keeps 200 characters). */
function echoed(headers: http.IncomingHttpHeaders): http.IncomingHttpHeaders {
  const { host, connection, 'content-length': length, 'user-agent': agent, ...rest } = headers;
  return { ...rest, host, connection, 'content-length': length, 'user-agent': agent };
}

async function echoingPeer(): Promise<{ port: number; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end(
          `you sent: ${JSON.stringify(echoed(req.headers))} ${Buffer.concat(chunks).toString('latin1').slice(0, 100)}`,
        ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    requests: () => requests,
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

  /** Each backend that sends a credential, with every way it can be configured. */
  const SECRET = 'S3cr3tCr3d3nt1al0123456789';
  const USER = 'metrics-writer';
  const cases: Array<{ name: string; section: (port: number, file: string) => string; backend: string }> = [
    {
      name: 'datadog, api_key inline',
      backend: 'datadog',
      section: (port) => `[datadog]\napi_key = "${SECRET}"\napi_endpoint = "http://127.0.0.1:${port}"\n`,
    },
    {
      name: 'datadog, api_key_file',
      backend: 'datadog',
      section: (port, file) => `[datadog]\napi_key_file = "${file}"\napi_endpoint = "http://127.0.0.1:${port}"\n`,
    },
    {
      name: 'newrelic, Insights insert key',
      backend: 'newrelic',
      section: (port) =>
        `[newrelic]\naddress = "http://127.0.0.1:${port}/v1/accounts/1/events"\napi-key = "${SECRET}"\n`,
    },
    {
      name: 'prometheus-remote-write, bearer-token-file',
      backend: 'prometheus-remote-write',
      section: (port, file) =>
        `[prometheus-remote-write]\nurl = "http://127.0.0.1:${port}/api/v1/write"\nbearer-token-file = "${file}"\n`,
    },
    {
      name: 'prometheus-remote-write, basic auth',
      backend: 'prometheus-remote-write',
      section: (port, file) =>
        `[prometheus-remote-write]\nurl = "http://127.0.0.1:${port}/api/v1/write"\nusername = "${USER}"\npassword-file = "${file}"\n`,
    },
    {
      name: 'prometheus-remote-write, a custom X-Api-Key header',
      backend: 'prometheus-remote-write',
      section: (port) =>
        `[prometheus-remote-write]\nurl = "http://127.0.0.1:${port}/api/v1/write"\n[prometheus-remote-write.headers]\nX-Api-Key = "${SECRET}"\n`,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: a peer echoing the request puts the credential in no log line at any level`, async () => {
      const peer = await echoingPeer();
      const secretFile = join(dir, 'secret');
      await writeFile(secretFile, `${SECRET}\n`);
      const config = join(dir, 'config.toml');
      await writeFile(
        config,
        `backends = "${c.backend}"\nmetrics-addr = "127.0.0.1:0"\nweb-addr = "127.0.0.1:0"\nflush-interval = "200ms"\n` +
          c.section(peer.port, secretFile),
      );
      const cli = new CliProcess(['--config-path', config, '--verbose']);
      try {
        const { udp } = await cli.ready();
        await sendUdp(udp, ['vendor.hits:1|c']);
        // The echo was logged (redacted): the test saw the credential go by.
        await waitFor(() => cli.stderr.includes('[REDACTED]'), 10_000, 'the echoed answer in the log');
      } finally {
        await cli.stop();
        await peer.close();
      }
      expect(peer.requests()).to.be.greaterThan(0);
      const everything = cli.stderr + cli.stdout;
      expect(everything).to.not.contain(SECRET);
      expect(everything).to.not.contain(Buffer.from(`${USER}:${SECRET}`).toString('base64').slice(0, 12));
    });
  }
});
