import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CliProcess } from '../support/cli-process.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { httpGet, metricValue } from '../support/daemon-harness.js';
import { waitFor } from '../support/wait-for.js';
import { decodeFamilies, PROTOBUF_CONTENT_TYPE } from '../../src/shared/metric-family.js';

const MAPPING = `
defaults:
  observer_type: histogram
  buckets: [0.01, 0.1, 1]
mappings:
- match: shop.*.requests
  name: shop_requests_total
  labels: { service: "$1" }
- match: shop.*.latency
  name: shop_latency_seconds
  labels: { service: "$1" }
`;

async function sendUdp(port: number, text: string): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.send(text, port, '127.0.0.1', () => resolve()));
  s.close();
}

function promtool(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`promtool is not installed (make test installs it): ${r.error.message}`);
  expect(r.stdout + r.stderr).to.not.match(/error while linting|parsing error/);
  expect([0, 3]).to.include(r.status);
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function query(
  port: number,
  promql: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as {
    data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  return body.data?.result ?? [];
}

describe('prometheus backend (built CLI, real promtool and Prometheus)', function () {
  this.timeout(60_000);

  it('serves mapped series beside the self-metrics, and a mapping file edit applies live keeping counters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prom-'));
    const mapping = join(dir, 'mapping.yaml');
    writeFileSync(mapping, MAPPING);
    const file = join(dir, 'config.toml');
    writeFileSync(
      file,
      `backends = ["prometheus"]\nflush-interval = "200ms"\n[prometheus]\nmapping-config = "${mapping}"\n`,
    );
    const cli = new CliProcess(['--config-path', file, '--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0']);
    try {
      const ports = await cli.ready();
      await sendUdp(ports.udp, 'shop.cart.requests:3|c\nshop.cart.latency:50|ms\nshop.cart.latency:500|ms\n');
      const scrape = async (): Promise<string> => (await httpGet(ports.web, '/metrics')).body;
      await waitFor(
        async () => metricValue(await scrape(), 'shop_requests_total{service="cart"}') === 3,
        10_000,
        'the counter',
      );
      const text = await scrape();
      expect(text).to.include('statsd_sepagent_build_info');
      expect(metricValue(text, 'shop_latency_seconds_bucket{service="cart",le="0.1"}')).to.equal(1);
      expect(metricValue(text, 'shop_latency_seconds_count{service="cart"}')).to.equal(2);
      promtool(text);

      // Add a label to nothing that exists, and map a new name: the counter keeps its total.
      writeFileSync(
        mapping + '.new',
        MAPPING + '- match: shop.*.errors\n  name: shop_errors_total\n  labels: { service: "$1" }\n',
      );
      renameSync(mapping + '.new', mapping);
      await cli.waitForLog('a file the configuration refers to changed; reloading');
      await cli.waitForLog('prometheus mapping reconfigured; series kept');
      await sendUdp(ports.udp, 'shop.cart.requests:4|c\nshop.cart.errors:1|c\n');
      await waitFor(
        async () => metricValue(await scrape(), 'shop_errors_total{service="cart"}') === 1,
        10_000,
        'the new rule',
      );
      expect(metricValue(await scrape(), 'shop_requests_total{service="cart"}')).to.equal(7);

      // A broken mapping is rejected; the running one stays.
      writeFileSync(mapping + '.new', 'mappings:\n- match: shop.*.x\n');
      renameSync(mapping + '.new', mapping);
      const rejected = await waitFor(
        () => cli.logs().find((r) => String(r['msg']).startsWith('configuration rejected')),
        10_000,
        'the broken mapping to be rejected',
      );
      expect(String(rejected['msg'])).to.include('prometheus.mapping-config: mappings[0].name');
      expect(metricValue(await scrape(), 'shop_requests_total{service="cart"}')).to.equal(7);
      expect(await cli.stop()).to.equal(0);
    } finally {
      if (cli.exitCode === undefined) await cli.stop('SIGKILL');
    }
  });

  it('a mapping edited in the ConfigMap applies live and keeps the counters of unchanged series', async () => {
    const api = await FakeKubeApi.start({ namespaces: ['apps'] });
    const doc = (mapping: string): Record<string, string> => ({
      'config.toml': `backends = ["prometheus"]\nflush-interval = "200ms"\n[prometheus]\nmapping = '''\n${mapping}'''\n`,
    });
    api.upsert('apps', 'statsd', doc(MAPPING));
    const cli = new CliProcess(
      [
        '--configmap',
        'statsd',
        '--kubeconfig',
        api.writeKubeconfig(),
        '--metrics-addr',
        '127.0.0.1:0',
        '--web-addr',
        '127.0.0.1:0',
      ],
      { POD_NAMESPACE: 'apps', POD_NAME: 'app-0' },
    );
    try {
      const ports = await cli.ready();
      await cli.waitForLog('watching the ConfigMap for changes');
      const scrape = async (): Promise<string> => (await httpGet(ports.web, '/metrics')).body;
      await sendUdp(ports.udp, 'shop.cart.requests:3|c\n');
      await waitFor(
        async () => metricValue(await scrape(), 'shop_requests_total{service="cart"}') === 3,
        10_000,
        'the counter',
      );
      api.upsert('apps', 'statsd', doc(MAPPING + '- match: shop.*.errors\n  name: shop_errors_total\n'));
      await waitFor(() => api.eventsWithReason('ConfigApplied')[0], 10_000, 'ConfigApplied');
      await cli.waitForLog('prometheus mapping reconfigured; series kept');
      await sendUdp(ports.udp, 'shop.cart.requests:4|c\nshop.cart.errors:1|c\n');
      await waitFor(async () => metricValue(await scrape(), 'shop_errors_total') === 1, 10_000, 'the new rule');
      expect(metricValue(await scrape(), 'shop_requests_total{service="cart"}')).to.equal(7);
      expect(await cli.stop()).to.equal(0);
    } finally {
      if (cli.exitCode === undefined) await cli.stop('SIGKILL');
      await api.stop();
    }
  });

  it('a real Prometheus scrapes it and answers rate, histogram_quantile and a mapped label', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'prom-server-'));
    const mapping = join(dir, 'mapping.yaml');
    writeFileSync(mapping, MAPPING);
    const file = join(dir, 'config.toml');
    writeFileSync(
      file,
      `backends = ["prometheus", "prometheus.own"]\nflush-interval = "200ms"\n` +
        `[prometheus]\nmapping-config = "${mapping}"\n[prometheus.own]\npath = "/statsd"\nmapping-config = "${mapping}"\n`,
    );
    const cli = new CliProcess(['--config-path', file, '--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0']);
    let prom: ChildProcess | undefined;
    try {
      const ports = await cli.ready();
      const om = await fetch(`http://127.0.0.1:${ports.web}/statsd`, {
        headers: { accept: 'application/openmetrics-text' },
      });
      expect(om.headers.get('content-type')).to.match(/^application\/openmetrics-text/);
      const promPort = await freePort();
      writeFileSync(
        join(dir, 'prometheus.yml'),
        `global:\n  scrape_interval: 1s\nscrape_configs:\n` +
          // Prometheus asks for OpenMetrics first: the shared page (self-metrics and series) and the own path.
          `- job_name: shared\n  static_configs:\n  - targets: ['127.0.0.1:${ports.web}']\n` +
          `- job_name: own\n  metrics_path: /statsd\n  static_configs:\n  - targets: ['127.0.0.1:${ports.web}']\n`,
      );
      prom = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        { stdio: 'ignore' },
      );
      const sender = setInterval(
        () => void sendUdp(ports.udp, 'shop.cart.requests:10|c\nshop.cart.latency:50|ms\nshop.cart.latency:60|ms\n'),
        100,
      );
      try {
        const rate = await waitFor(
          async () => {
            const r = await query(promPort, 'rate(shop_requests_total[5s])').catch(() => []);
            return r.length > 0 && Number(r[0]!.value[1]) > 0 ? r : undefined;
          },
          40_000,
          'Prometheus to compute a rate',
        );
        expect(rate[0]!.metric['service']).to.equal('cart');
        // About 100 per second are sent (10 every 100 ms).
        expect(Number(rate[0]!.value[1])).to.be.within(20, 200);
        const q = await waitFor(
          async () => {
            const r = await query(promPort, 'histogram_quantile(0.5, rate(shop_latency_seconds_bucket[5s]))');
            return r.length > 0 && Number.isFinite(Number(r[0]!.value[1])) ? r : undefined;
          },
          20_000,
          'a histogram quantile',
        );
        // Both values (50 and 60 ms) fall in the (0.01, 0.1] bucket.
        expect(Number(q[0]!.value[1])).to.be.within(0.01, 0.1);
        const byLabel = await query(promPort, 'sum by (service) (shop_requests_total)');
        expect(byLabel.map((r) => r.metric['service'])).to.deep.equal(['cart']);
        // Both pages were scraped successfully, self-metrics included.
        const jobs = await waitFor(
          async () => {
            const r = await query(promPort, 'count by (job) (shop_requests_total)');
            return r.length === 2 ? r : undefined;
          },
          20_000,
          'both scrape jobs',
        );
        expect(jobs.map((r) => r.metric['job']).sort()).to.deep.equal(['own', 'shared']);
        const up = await query(promPort, 'statsd_sepagent_build_info');
        expect(up.map((r) => r.metric['job'])).to.deep.equal(['shared']);
      } finally {
        clearInterval(sender);
      }
      expect(await cli.stop()).to.equal(0);
    } finally {
      prom?.kill('SIGKILL');
      if (cli.exitCode === undefined) await cli.stop('SIGKILL');
    }
  });

  it('native histograms: a real Prometheus (--enable-feature=native-histograms) scrapes them over protobuf and answers histogram_quantile', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'prom-native-'));
    const mapping = join(dir, 'mapping.yaml');
    writeFileSync(
      mapping,
      `mappings:\n- match: api.*.latency\n  name: api_latency_seconds\n  labels: { route: "$1" }\n` +
        `  observer_type: histogram\n  histogram_options:\n    buckets: [0.05, 0.5]\n` +
        `    native_histogram_bucket_factor: 1.1\n    native_histogram_max_buckets: 160\n`,
    );
    const file = join(dir, 'config.toml');
    writeFileSync(
      file,
      `backends = ["prometheus"]\nflush-interval = "200ms"\n[prometheus]\nmapping-config = "${mapping}"\n`,
    );
    const cli = new CliProcess(['--config-path', file, '--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0']);
    let prom: ChildProcess | undefined;
    // 1 ms to 100 ms, once each per datagram: the 0.9 quantile is 90 ms.
    const batch = Array.from({ length: 100 }, (_, i) => `api.login.latency:${i + 1}|ms`).join('\n');
    try {
      const ports = await cli.ready();
      await sendUdp(ports.udp, batch);
      // The page over protobuf: the self-metrics and the native histogram (schema 3 for a factor of 1.1).
      const families = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${ports.web}/metrics`, {
            headers: { accept: PROTOBUF_CONTENT_TYPE },
          });
          expect(res.headers.get('content-type')).to.equal(PROTOBUF_CONTENT_TYPE);
          const f = decodeFamilies(new Uint8Array(await res.arrayBuffer()));
          return f.some((x) => x.name === 'api_latency_seconds') ? f : undefined;
        },
        10_000,
        'the histogram on the page',
      );
      expect(families.some((f) => f.name === 'statsd_sepagent_build_info')).to.equal(true);
      const h = families.find((f) => f.name === 'api_latency_seconds')!.metric[0]!.histogram!;
      expect(h).to.deep.include({ sampleCount: 100, schema: 3 });
      expect(h.sampleSum).to.be.closeTo(5.05, 1e-9);
      expect(h.bucket).to.deep.equal([
        { cumulativeCount: 50, upperBound: 0.05 },
        { cumulativeCount: 100, upperBound: 0.5 },
      ]);
      let total = 0;
      let count = 0;
      for (const d of h.positiveDelta!) total += count += d;
      expect(total).to.equal(100);
      // Text stays the default: classic buckets, sum and count.
      const text = (await httpGet(ports.web, '/metrics')).body;
      expect(metricValue(text, 'api_latency_seconds_count{route="login"}')).to.equal(100);

      const promPort = await freePort();
      writeFileSync(
        join(dir, 'prometheus.yml'),
        `global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: native\n  static_configs:\n  - targets: ['127.0.0.1:${ports.web}']\n`,
      );
      prom = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          '--enable-feature=native-histograms',
        ],
        { stdio: 'ignore' },
      );
      const sender = setInterval(() => void sendUdp(ports.udp, batch), 100);
      try {
        const q = await waitFor(
          async () => {
            const r = await query(promPort, 'histogram_quantile(0.9, rate(api_latency_seconds[1m]))').catch(() => []);
            return r.length > 0 && Number.isFinite(Number(r[0]!.value[1])) ? r : undefined;
          },
          40_000,
          'a quantile of the native histogram',
        );
        expect(q[0]!.metric['route']).to.equal('login');
        // Within one bucket of the true 90 ms: the documented error of schema 3 (a factor of 2^(1/8)).
        const base = 2 ** (1 / 8);
        expect(Number(q[0]!.value[1])).to.be.within(0.09 / base, 0.09 * base);
        // The native series is the histogram itself: no classic _bucket series was stored.
        expect(await query(promPort, 'api_latency_seconds_bucket')).to.deep.equal([]);
      } finally {
        clearInterval(sender);
      }
      expect(await cli.stop()).to.equal(0);
    } finally {
      prom?.kill('SIGKILL');
      if (cli.exitCode === undefined) await cli.stop('SIGKILL');
    }
  });
});
