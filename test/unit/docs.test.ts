import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DISABLED_SUB_METRIC_KEYS, docsRow, FILTER_KEYS, topLevelKeys } from '../../src/config/keys.js';
import { COMPONENTS } from '../../src/daemon/components.js';
import { POD_TAGS_KEYS } from '../../src/config/pod-tags.js';
import { SEPAGENT_KEYS } from '../../src/backends/sepagent/config.js';
import { PROMETHEUS_KEYS } from '../../src/backends/prometheus/config.js';
import { FORWARDER_KEYS } from '../../src/backends/forwarder/config.js';
import { SERVER_KEYS } from '../../src/receivers/http/config.js';
import { GRAPHITE_KEYS } from '../../src/backends/graphite/config.js';
import { STATSDAEMON_KEYS } from '../../src/backends/statsdaemon/config.js';
import { REMOTE_WRITE_KEYS } from '../../src/backends/prometheus-remote-write/config.js';
import { DATADOG_KEYS } from '../../src/backends/datadog/config.js';
import { NEWRELIC_KEYS } from '../../src/backends/newrelic/config.js';
import { CLOUDWATCH_KEYS } from '../../src/backends/cloudwatch/config.js';
import { SelfMetrics } from '../../src/telemetry/self-metrics.js';
import { IngestStats } from '../../src/ingest/ingest-stats.js';
import { PARSE_ERROR_REASONS } from '../../src/parser/sample.js';

describe('docs match the code', () => {
  const config = readFileSync('docs/config.md', 'utf8');
  const readme = readFileSync('README.md', 'utf8');
  const compat = readFileSync('docs/compatibility.md', 'utf8');

  it('docs/config.md documents every key', () => {
    const keys = [
      ...topLevelKeys(COMPONENTS).map((k) => k.key),
      ...SEPAGENT_KEYS,
      ...PROMETHEUS_KEYS,
      ...FORWARDER_KEYS,
      ...SERVER_KEYS,
      ...GRAPHITE_KEYS,
      ...STATSDAEMON_KEYS,
      ...REMOTE_WRITE_KEYS,
      ...DATADOG_KEYS,
      ...NEWRELIC_KEYS,
      ...CLOUDWATCH_KEYS,
      ...DISABLED_SUB_METRIC_KEYS,
      ...FILTER_KEYS,
      ...POD_TAGS_KEYS,
    ];
    expect(keys.filter((k) => !config.includes(`\`${k}\``))).to.deep.equal([]);
  });

  it('docs/config.md has the row of the key table for every top-level key: type, default, reload, help text', () => {
    const rows = config.split('\n');
    for (const k of topLevelKeys(COMPONENTS)) expect(rows, k.key).to.include(docsRow(k));
  });

  it('docs/config.md lists each top-level key under the section of its group', () => {
    const sectionOf = (key: string): string => {
      const at = config.indexOf(`| \`${key}\` |`);
      const heading =
        config
          .slice(0, at)
          .match(/^### .*$/gm)
          ?.at(-1) ?? '';
      return heading.replace(/^### /, '');
    };
    for (const k of topLevelKeys(COMPONENTS)) expect(sectionOf(k.key), k.key).to.equal(k.group);
  });

  it('the README lists every self-metric the daemon defines', async () => {
    const m = new SelfMetrics({
      stats: new IngestStats(),
      seriesCount: () => ({ counter: 0, gauge: 0, timer: 0, set: 0 }),
      version: 'x',
    });
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name).filter((n) => !/process_|nodejs_/.test(n));
    expect(names.filter((n) => !readme.includes(n))).to.deep.equal([]);
  });

  it('docs/compatibility.md names every bad-line reason', () => {
    expect(PARSE_ERROR_REASONS.filter((r) => !compat.includes(`\`${r}\``))).to.deep.equal([]);
  });
});
