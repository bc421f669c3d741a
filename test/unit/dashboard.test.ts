import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { SelfMetrics } from '../../src/telemetry/self-metrics.js';
import { IngestStats } from '../../src/ingest/ingest-stats.js';

interface Panel {
  title: string;
  datasource: { type: string; uid: string };
  targets: Array<{ expr: string; datasource: { uid: string } }>;
}

describe('dashboards/statsd-sepagent.json', () => {
  const dash = JSON.parse(readFileSync('dashboards/statsd-sepagent.json', 'utf8')) as {
    uid: string;
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; query: string }> };
  };

  it('takes the Prometheus data source as a variable, and every panel uses it', () => {
    expect(dash.templating.list).to.deep.include.members([
      {
        name: 'datasource',
        label: 'Data source',
        type: 'datasource',
        query: 'prometheus',
        current: {},
        hide: 0,
        refresh: 1,
        options: [],
      },
    ]);
    for (const p of dash.panels) {
      expect(p.datasource, p.title).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets) expect(t.datasource.uid, p.title).to.equal('${datasource}');
    }
  });

  it('queries only metrics the daemon defines (a renamed self-metric fails here)', async () => {
    const m = new SelfMetrics({
      stats: new IngestStats(),
      seriesCount: () => ({ counter: 0, gauge: 0, timer: 0, set: 0 }),
      version: 'x',
    });
    const known = new Set((await m.registry.getMetricsAsJSON()).map((x) => x.name));
    for (const p of dash.panels)
      for (const t of p.targets)
        for (const name of t.expr.match(/statsd_sepagent_[a-z_]+/g) ?? []) {
          const base = name.replace(/_(bucket|sum|count)$/, '');
          expect(known.has(name) || known.has(base), `${p.title}: ${name}`).to.equal(true);
        }
  });

  it('has the panels operators look for', () => {
    const titles = dash.panels.map((p) => p.title).join('\n');
    for (const t of [
      'Ingest rate',
      'Bad lines by reason',
      'Kernel drops',
      'Live series',
      'cap hits',
      'Flush duration',
      'Backend flush results',
      'reloads',
    ])
      expect(titles).to.include(t);
  });
});
