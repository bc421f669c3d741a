import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Gauge } from 'prom-client';
import { METRIC_PREFIX } from '../../../src/telemetry/self-metrics.js';
import { httpGet, metricValue, sendUdp, startDaemon } from '../../support/daemon-harness.js';
import { waitFor } from '../../support/wait-for.js';

// The worked example of docs/architecture.md ("Adding a self-metric"). In the product the
// family is declared in SelfMetrics' constructor (src/telemetry/self-metrics.ts) and named
// in the README's table; here the test declares it on a running daemon's registry, the
// same registry /metrics serves.

describe('adding a self-metric (the worked example of docs/architecture.md)', () => {
  it('a family declared on the registry, fed from plain fields at scrape time, is on /metrics', async () => {
    const daemon = await startDaemon({ backends: 'null' });
    try {
      // 1. The counts already live in plain fields (IngestStats), bumped on the hot path.
      const stats = daemon.stats;
      // 2. The family: prefix, what, unit; help says what and in what unit; collect() copies.
      new Gauge({
        name: `${METRIC_PREFIX}example_lines_per_datagram`,
        help: 'Lines per UDP datagram received since start (lines per datagram).',
        registers: [daemon.metrics.registry],
        collect() {
          this.set(stats.datagrams.udp === 0 ? 0 : stats.lines / stats.datagrams.udp);
        },
      });
      const { udp, web } = daemon.addresses();
      await sendUdp(udp.port, ['a:1|c\nb:2|c', 'c:3|g\nd:4|ms', 'e:5|c\nf:6|s']);
      await waitFor(() => stats.lines === 6);
      // 4. Scraped from the real server.
      const page = await httpGet(web!.port, '/metrics');
      expect(metricValue(page.body, 'statsd_sepagent_example_lines_per_datagram')).to.equal(2);
      expect(page.body).to.contain('# HELP statsd_sepagent_example_lines_per_datagram Lines per UDP datagram');
    } finally {
      await daemon.shutdown();
    }
  });

  it("every family of the daemon's own follows the guide: prefix, unit in the name, help, a README row", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const daemon = await startDaemon({ backends: 'null' });
    try {
      const families = await daemon.metrics.registry.getMetricsAsJSON();
      const own = families.filter((f) => !/^statsd_sepagent_(process_|nodejs_)/.test(f.name));
      expect(own.length).to.be.greaterThan(20);
      for (const f of own) {
        expect(f.name, f.name).to.match(new RegExp(`^${METRIC_PREFIX}[a-z0-9_]+$`));
        expect(f.help.length, `${f.name} help`).to.be.greaterThan(10);
        if (String(f.type) === 'counter') expect(f.name, f.name).to.match(/_total$/);
        if (String(f.type) === 'histogram') expect(f.name, f.name).to.match(/_(seconds|bytes)$/);
        expect(readme, `README names ${f.name}`).to.contain(f.name);
      }
    } finally {
      await daemon.shutdown();
    }
  });
});
