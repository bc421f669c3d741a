import { expect } from 'chai';
import { IngestStats } from '../../../src/ingest/ingest-stats.js';
import { SelfMetrics } from '../../../src/telemetry/self-metrics.js';
import { runFresh } from '../../support/child.js';

describe('SelfMetrics: the process metrics', () => {
  it('the CPU counters hold the CPU time since the process started, user + system = total, on the first scrape', async () => {
    const before = process.cpuUsage();
    const m = new SelfMetrics({
      stats: new IngestStats(),
      seriesCount: () => ({ counter: 0, gauge: 0, timer: 0, set: 0 }),
      version: 't',
    });
    const families = await m.registry.getMetricsAsJSON();
    const value = (name: string): number =>
      families.find((f) => f.name === `statsd_sepagent_${name}`)!.values[0]!.value;
    const user = value('process_cpu_user_seconds_total');
    const system = value('process_cpu_system_seconds_total');
    expect(user).to.be.at.least(before.user / 1e6);
    expect(system).to.be.at.least(before.system / 1e6);
    expect(value('process_cpu_seconds_total')).to.be.closeTo(user + system, 1e-9);
    // prom-client's other default metrics are there too.
    for (const name of [
      'process_start_time_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_space_size_used_bytes',
    ])
      expect(families.map((f) => f.name)).to.include(`statsd_sepagent_${name}`);
  });

  it('does not load @opentelemetry/api (prom-client loads it only for its CPU counters)', () => {
    // A fresh process: other tests here load the OTLP backend, which needs the API.
    const r = runFresh(`
      const { SelfMetrics } = await import('./src/telemetry/self-metrics.ts');
      const { IngestStats } = await import('./src/ingest/ingest-stats.ts');
      new SelfMetrics({ stats: new IngestStats(), seriesCount: () => ({ counter: 0, gauge: 0, timer: 0, set: 0 }), version: 't' });
      const loaded = loadedModules();
      console.log(JSON.stringify({
        promClient: loaded.filter((f) => f.includes('/prom-client/')).length,
        otel: loaded.filter((f) => f.includes('/@opentelemetry/api/')),
      }));`);
    expect(r.status, r.stderr).to.equal(0);
    const { promClient, otel } = JSON.parse(r.stdout) as { promClient: number; otel: string[] };
    expect(promClient).to.be.greaterThan(5);
    expect(otel).to.deep.equal([]);
  });
});
