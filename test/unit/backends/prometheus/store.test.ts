import type { ExpiryConfig } from '../../../../src/aggregator/in-memory-aggregator.js';
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { exposition } from '../../../../src/backends/prometheus/exposition.js';
import { negotiate, type ExpositionFormat } from '../../../../src/shared/exposition-format.js';
import { MetricMapper, parseMappingText, type MappingIssue } from '../../../../src/backends/prometheus/mapping.js';
import { PromStore, type DropReason } from '../../../../src/backends/prometheus/store.js';
import { makePipeline, send } from '../../../support/pipeline.js';

function mapperOf(text: string): MetricMapper {
  const issues: MappingIssue[] = [];
  const cfg = parseMappingText(text, 'mapping', issues);
  expect(issues).to.deep.equal([]);
  return new MetricMapper(cfg!);
}

/** A store fed by the real pipeline: each call of `interval` is one flush of the given lines. */
function harness(mapping = 'mappings: []', maxSeries = 100_000, expiry?: ExpiryConfig) {
  const drops: Partial<Record<DropReason, number>> = {};
  const store = new PromStore(
    mapperOf(mapping),
    maxSeries,
    (r, n) => (drops[r] = (drops[r] ?? 0) + n),
    undefined,
    expiry,
  );
  const { ingester, aggregator, clock } = makePipeline();
  let t = 1_700_000_000_000;
  return {
    store,
    drops,
    interval(lines: string, advanceMs = 10_000): void {
      // The lines arrive at the start of the interval the next flush ends.
      clock.setNow(t);
      if (lines !== '') send(ingester, lines);
      t += advanceMs;
      store.apply(aggregator.snapshotAndReset(t, advanceMs / 1000));
    },
    now: () => t,
    text(format: ExpositionFormat = 'text'): string {
      return [...exposition(store, format, t)].join('');
    },
  };
}

/** Prometheus' own parser: exit 0 (valid) or 3 (valid, lint remarks); 1 is a parse error. */
function promtool(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`promtool is not installed (make test installs it): ${r.error.message}`);
  expect(r.stdout + r.stderr, text).to.not.match(/error while linting|parsing error/);
  expect([0, 3], r.stdout + r.stderr).to.include(r.status);
}

describe('PromStore and the exposition', () => {
  it('keeps counters cumulative across intervals, gauges and sets as the latest value', () => {
    const h = harness();
    h.interval('api.hits:3|c\nmem.used:5|g\nusers:a|s\nusers:b|s\n');
    h.interval('api.hits:4|c\nmem.used:7|g\nusers:c|s\n');
    const text = h.text();
    expect(text).to.include('# TYPE api_hits counter\napi_hits 7\n');
    expect(text).to.include('# TYPE mem_used gauge\nmem_used 7\n');
    expect(text).to.include('# TYPE users gauge\nusers 1\n');
    promtool(text);
  });

  it('maps names and labels, and tags become labels (the rule wins unless honor_labels)', () => {
    const h = harness(`
mappings:
- match: req.*.*
  name: requests_total
  labels: { service: "$1", code: "$2", env: rule }
- match: honor.*
  name: honored_total
  honor_labels: true
  labels: { env: rule }
`);
    h.interval('req.api.200:1|c|#env:prod,region:eu\nhonor.x:2|c|#env:prod\n');
    const text = h.text();
    expect(text).to.include('requests_total{code="200",env="rule",region="eu",service="api"} 1\n');
    expect(text).to.include('honored_total{env="prod"} 2\n');
    promtool(text);
  });

  it('tag keys become label names as statsd_exporter makes them: a leading # dropped, the rest escaped', () => {
    const table: Array<[string, string]> = [
      ['a:1|c|#tag1:x,#tag2:y', 'a{tag1="x",tag2="y"} 1'], // the DataDog PHP client
      ['b:1|c|##k:v', 'b{k="v"} 1'], // `|#` starts the tags, then the key's own # is dropped
      ['e:1|c|#k#2:v', 'e{k_2="v"} 1'], // a # inside a key is escaped
      ['c:1|c|#route.name:x', 'c{route_name="x"} 1'],
      ['d:1|c|#:x,#k,#:', 'd 1'], // no key, or no value: no label
    ];
    const h = harness();
    h.interval(table.map(([line]) => line).join('\n'));
    const text = h.text();
    for (const [line, want] of table) expect(text, line).to.include(want + '\n');
    promtool(text);
  });

  it('turns timers into histograms in seconds, with cumulative buckets', () => {
    const h = harness('defaults:\n  observer_type: histogram\n  buckets: [0.01, 0.1, 1]\nmappings: []');
    h.interval('lat:5|ms\nlat:50|ms\nlat:500|ms\nlat:5000|ms\n');
    const text = h.text();
    for (const l of [
      'lat_bucket{le="0.01"} 1',
      'lat_bucket{le="0.1"} 2',
      'lat_bucket{le="1"} 3',
      'lat_bucket{le="+Inf"} 4',
      'lat_sum 5.555',
      'lat_count 4',
    ])
      expect(text).to.include(l + '\n');
    promtool(text);
    const om = h.text('openmetrics');
    expect(om).to.include('lat_bucket{le="1.0"} 3\n');
    expect(om.endsWith('# EOF\n')).to.equal(true);
  });

  it('turns timers into summaries by default, with quantiles over the window', () => {
    const h = harness();
    h.interval(Array.from({ length: 100 }, (_, i) => `rt:${i + 1}|ms`).join('\n'));
    const text = h.text();
    expect(text).to.include('# TYPE rt summary\n');
    expect(text).to.include('rt{quantile="0.5"} 0.05\n');
    expect(text).to.include('rt{quantile="0.99"} 0.099\n');
    expect(text).to.include('rt_count 100\n');
    promtool(text);
  });

  it('counts the sample rate: a timer at @0.5 counts twice', () => {
    const h = harness('defaults: {observer_type: histogram}\nmappings: []');
    h.interval('t:10|ms|@0.5\n');
    expect(h.text()).to.include('t_count 2\n');
  });

  it('drops and counts every conflict; the exposition stays valid', () => {
    const h = harness(`
mappings:
- match: a.*
  name: same_name
  labels: { x: "$1" }
- match: b.*
  name: same_name
- match: c.*
  name: hist
  observer_type: histogram
- match: d.*
  name: hist_count
`);
    h.interval(
      [
        'a.1:1|c', // same_name{x}
        'b.1:1|c', // same_name without x: label_conflict
        'a.2:1|g', // same_name as a gauge: type_conflict
        'c.1:1|ms', // hist histogram
        'd.1:1|c', // hist_count collides with hist's _count
        'e:1|ms|#le:3', // default summary: allowed `le`
        'f:1|ms|#quantile:3', // summary with a quantile label: reserved
        'neg:-5|c', // a counter going down
      ].join('\n'),
    );
    expect(h.drops).to.deep.equal({
      label_conflict: 1,
      type_conflict: 1,
      name_conflict: 1,
      reserved_label: 1,
      negative_counter: 1,
    });
    const text = h.text();
    expect(text).to.include('same_name{x="1"} 1\n');
    promtool(text);
    promtool(h.text('openmetrics').replace('# EOF\n', ''));
    // Reported idle until it expires, the refused gauge is not counted again.
    for (let i = 0; i < 5; i++) h.interval('');
    expect(h.drops.type_conflict).to.equal(1);
    h.interval('a.2:2|g');
    expect(h.drops.type_conflict).to.equal(2);
  });

  it('caps series at max-series and counts the rest', () => {
    const h = harness('mappings: []', 2);
    h.interval('a:1|c\nb:1|c\nc:1|c\n');
    expect(h.store.seriesCount).to.equal(2);
    expect(h.drops).to.deep.equal({ max_series: 1 });
  });

  it('drops series idle longer than their ttl; ttl 0 on a rule means the default, as in statsd_exporter', () => {
    const h = harness('mappings:\n- match: idle\n  name: idle\n  ttl: 30s\n- match: keep.*\n  name: kept\n  ttl: 0\n');
    h.interval('idle:1|c\nkeep.x:1|c\n');
    h.interval('', 20_000);
    h.store.expire(h.now());
    expect(h.text()).to.include('idle 1\n');
    h.interval('', 20_000);
    h.store.expire(h.now());
    expect(h.text()).to.not.include('idle');
    expect(h.text()).to.include('kept 1\n');
  });

  it('without a ttl, series expire with the aggregator’s expiry of their kind, so names sent once cannot lock out new ones', () => {
    const minute = 60_000;
    const h = harness('mappings: []', 3, {
      counterMs: 5 * minute,
      gaugeMs: 10 * minute,
      setMs: 5 * minute,
      timerMs: 0,
    });
    h.interval('junk1:1|c\njunk2:1|c\nkept:1|g\n');
    expect(h.drops.max_series).to.equal(undefined);
    h.interval('late:1|c\n', minute);
    expect(h.drops.max_series).to.equal(1); // the cap (3) is full of names sent once...
    h.interval('', 5 * minute);
    h.store.expire(h.now());
    // ...until they expire (5 min for counters); the gauge stays its 10 minutes.
    expect(h.text()).to.not.include('junk');
    h.interval('late:1|c\n');
    expect(h.text()).to.include('late 1\n');
    expect(h.text()).to.include('kept 1\n');
    expect(h.drops.max_series).to.equal(1);
    for (let i = 0; i < 3; i++) {
      h.interval('', 10 * minute);
      h.store.expire(h.now());
    }
    expect(h.text()).to.not.include('kept');
  });

  it('starts a new series when an expired one comes back, also in a family that stayed', () => {
    const h = harness('mappings:\n- match: idle.*\n  name: idle\n  labels: {k: "$1"}\n  ttl: 30s\n');
    h.interval('idle.a:1|c\nidle.b:1|c\n');
    h.interval('idle.b:1|c\n', 20_000);
    h.store.expire(h.now());
    h.interval('idle.b:1|c\n', 20_000);
    h.store.expire(h.now());
    expect(h.text()).to.not.include('idle{k="a"}');
    h.interval('idle.a:5|c\n');
    expect(h.text()).to.include('idle{k="a"} 5\n');
    expect(h.text()).to.include('idle{k="b"} 3\n');
    expect(h.store.seriesCount).to.equal(2);
  });

  it('keeps feeding the same series through intervals in which a counter did not move', () => {
    const h = harness('mappings:\n- match: idle\n  name: idle\n  ttl: 30s\n');
    h.interval('a:1|c\nidle:1|c\n');
    for (let i = 0; i < 5; i++) h.interval('b:1|c\n', 1_000);
    h.interval('a:2|c\nidle:2|c\n', 1_000);
    const text = h.text();
    expect(text).to.include('a 3\n');
    expect(text).to.include('idle 3\n');
    expect(text).to.include('b 5\n');
    expect(h.store.seriesCount).to.equal(3);
  });

  it('keeps cumulative values across a mapping change that keeps the identity', () => {
    const h = harness('mappings:\n- match: x.*\n  name: x_total\n  labels: {k: "$1"}\n');
    h.interval('x.a:2|c\n');
    h.store.reconfigure(
      mapperOf('mappings:\n- match: x.*\n  name: x_total\n  labels: {k: "$1"}\n- match: y.*\n  name: y\n'),
      10,
    );
    h.interval('x.a:3|c\n');
    expect(h.text()).to.include('x_total{k="a"} 5\n');
  });

  it('streams big expositions in chunks, each a whole number of lines', () => {
    const h = harness();
    h.interval(Array.from({ length: 5000 }, (_, i) => `m${i}:1|c`).join('\n'));
    const chunks = [...exposition(h.store, 'text', h.now())];
    expect(chunks.length).to.be.greaterThan(2);
    for (const c of chunks) expect(c.endsWith('\n')).to.equal(true);
  });

  it('splits one family of many series into chunks too', () => {
    const h = harness();
    h.interval(Array.from({ length: 5000 }, (_, i) => `m:1|c|#k:v${i}`).join('\n'));
    const chunks = [...exposition(h.store, 'text', h.now())];
    expect(chunks.length).to.be.greaterThan(2);
    for (const c of chunks) expect(c.split('\n').length - 1).to.be.at.most(2002);
    const text = chunks.join('');
    expect(text.match(/^m\{k="v\d+"\} 1$/gm)).to.have.length(5000);
    promtool(text);
  });

  it('negotiates OpenMetrics only when asked for', () => {
    expect(negotiate(undefined)).to.equal('text');
    expect(negotiate('text/plain')).to.equal('text');
    expect(
      negotiate(
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      ),
    ).to.equal('openmetrics');
    expect(negotiate('application/openmetrics-text;q=0,text/plain')).to.equal('text');
  });
});
