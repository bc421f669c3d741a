import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp } from '../support/daemon-harness.js';
import { waitFor } from '../support/wait-for.js';

/** Debian's chromium (scripts/get-peers.sh installs it). */
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

describe('e2e: the status page in a real headless Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let cli: CliProcess;
  let ports: { udp: number; web: number };
  let config: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'status-page-'));
    config = join(dir, 'config.toml');
    writeFileSync(
      config,
      [
        'backends = ["stdout", "datadog"]',
        'flush-interval = "1s"',
        '[datadog]',
        'api_key = "supersecret0apikey"',
        'api_endpoint = "http://127.0.0.1:9"',
      ].join('\n'),
    );
    cli = new CliProcess(['--config-path', config, '--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0']);
    ports = await cli.ready();
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
    await cli?.stop();
  });

  it('renders health, the config in force without secrets, receivers, backends, top metrics and rejected lines; refreshes by itself', async () => {
    await sendUdp(ports.udp, ['page.test.metric:1|c|#team:a', 'bad line from the test']);
    await waitFor(
      async () =>
        metricValue((await httpGet(ports.web, '/metrics')).body, 'statsd_sepagent_lines_received_total') === 2,
      10_000,
      'both lines received',
    );
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 1600 });
    const res = await page.goto(`http://127.0.0.1:${ports.web}/`, { waitUntil: 'load' });
    expect(res?.status()).to.equal(200);
    const text = async (sel: string): Promise<string> =>
      page.$eval(sel, (e: { textContent: string | null }) => e.textContent ?? '');
    expect(await page.title()).to.match(/^statsd-sepagent \d/);
    expect(await text('#state')).to.equal('ready');
    expect(await text('#rejects')).to.contain('bad line from the test');
    expect(await text('#rejects')).to.contain('malformed_line');
    expect(await text('#top-series')).to.contain('page.test.metric');
    expect(await text('#top-series')).to.contain('team 1');
    expect(await text('#receivers')).to.contain(`127.0.0.1:${ports.udp}`);
    expect(await text('#backends')).to.contain('stdout');
    expect(await text('#config-source')).to.contain(`from file ${config}`);
    const shown = await text('#config');
    expect(shown).to.contain('[REDACTED]');
    expect(shown).not.to.contain('supersecret');
    expect(await page.content()).not.to.contain('supersecret');

    // A line sent after the page loaded shows up without a reload: the page refreshes itself.
    await sendUdp(ports.udp, ['page.after.load:1|c']);
    await page.waitForFunction(
      "Number(document.body.dataset.refreshes) >= 1 && (document.querySelector('#top-series')?.textContent ?? '').includes('page.after.load')",
      { timeout: 15_000 },
    );
    expect(await text('#backends')).to.match(/stdout\s*success/);
    const shot = process.env['STATUS_SCREENSHOT'];
    if (shot !== undefined) await page.screenshot({ path: shot, fullPage: true });
    await page.close();
  });
});
