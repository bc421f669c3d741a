import { expect } from 'chai';
import {
  DEFAULT_BUCKETS,
  DEFAULT_QUANTILES,
  MetricMapper,
  expandTemplate,
  parseMappingText,
  type MappingIssue,
  type MatchMetricType,
} from '../../../../src/backends/prometheus/mapping.js';
import { escapeMetricName } from '../../../../src/backends/prometheus/names.js';

function load(text: string): { mapper: MetricMapper | undefined; issues: MappingIssue[] } {
  const issues: MappingIssue[] = [];
  const cfg = parseMappingText(text, 'mapping', issues);
  return { mapper: cfg === undefined ? undefined : new MetricMapper(cfg), issues };
}

function mapper(text: string): MetricMapper {
  const { mapper: m, issues } = load(text);
  expect(issues.filter((i) => i.severity === 'error')).to.deep.equal([]);
  return m!;
}

interface Case {
  statsd: string;
  type?: MatchMetricType;
  name: string | undefined;
  labels?: Record<string, string>;
  rule?: number;
}

function check(m: MetricMapper, cases: Case[]): void {
  for (const c of cases) {
    const r = m.map(c.statsd, c.type ?? 'counter');
    const label = `${c.statsd} (${c.type ?? 'counter'})`;
    if (c.name === undefined) {
      expect(r.rule, label).to.equal(-1);
      continue;
    }
    expect(r.name, label).to.equal(c.name);
    if (c.labels !== undefined) expect(Object.fromEntries(r.labels), label).to.deep.equal(c.labels);
    if (c.rule !== undefined) expect(r.rule, label).to.equal(c.rule);
  }
}

describe('statsd_exporter mapping files', () => {
  it('maps globs with $n and ${n} captures into names and labels (the documented example)', () => {
    const m = mapper(`
mappings:
- match: test.dispatcher.*.*.*
  name: "dispatcher_events_total"
  labels:
    processor: "$1"
    action: "$2"
    outcome: "$3"
    job: "test_dispatcher"
- match: "*.signup.*.*"
  name: "signup_events_total"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "\${1}_server"
`);
    check(m, [
      {
        statsd: 'test.dispatcher.FooProcessor.send.success',
        name: 'dispatcher_events_total',
        labels: { processor: 'FooProcessor', action: 'send', outcome: 'success', job: 'test_dispatcher' },
      },
      {
        statsd: 'foo_product.signup.facebook.failure',
        name: 'signup_events_total',
        labels: { provider: 'facebook', outcome: 'failure', job: 'foo_product_server' },
      },
      { statsd: 'test.web-server.foo.bar', name: undefined },
      // A glob component is whole: no partial matches, and the component count must agree.
      { statsd: 'test.dispatcher.a.b', name: undefined },
      { statsd: 'test.dispatcher.a.b.c.d', name: undefined },
    ]);
  });

  it('captures into the metric name; $1_total refers to a group named "1_total" and expands to nothing', () => {
    const m = mapper(`
mappings:
- match: test.*.*.counter
  name: "\${2}_total"
  labels: { provider: "$1" }
- match: other.*.counter
  name: "x_$1_total"
`);
    check(m, [
      { statsd: 'test.prov.requests.counter', name: 'requests_total', labels: { provider: 'prov' } },
      { statsd: 'other.a.counter', name: 'x_' },
    ]);
  });

  it('tries globs before regexes whatever their order, and regexes in file order, unanchored', () => {
    const m = mapper(`
mappings:
- match: (.*)\\.(.*)--(.*)\\.status\\.(.*)\\.count
  match_type: regex
  name: "request_total"
  labels: { hostname: "$1", exec: "$2", protocol: "$3", code: "$4" }
- match: "a.*.c"
  name: "glob_wins"
- match: a\\.b
  match_type: regex
  name: "regex_a_b"
- match: "b"
  match_type: regex
  name: "anywhere"
`);
    check(m, [
      {
        statsd: 'host1.exec1--http.status.200.count',
        name: 'request_total',
        labels: { hostname: 'host1', exec: 'exec1', protocol: 'http', code: '200' },
        rule: 0,
      },
      { statsd: 'a.b.c', name: 'glob_wins', rule: 1 },
      { statsd: 'a.b.d', name: 'regex_a_b', rule: 2 },
      { statsd: 'xbx', name: 'anywhere', rule: 3 },
      { statsd: 'zzz', name: undefined },
    ]);
  });

  it('with ordering on (the default) the first glob in the file wins, even when a later one is more literal', () => {
    const m = mapper(`
mappings:
- match: a.*.*
  name: first
- match: a.b.*
  name: second
- match: a.b.c
  name: third
`);
    check(m, [{ statsd: 'a.b.c', name: 'first', rule: 0 }]);
  });

  it('finds an earlier rule that needs backtracking through a literal branch', () => {
    const m = mapper(`
mappings:
- match: a.*.d
  name: star_rule
- match: a.b.c
  name: literal_rule
`);
    check(m, [
      { statsd: 'a.b.d', name: 'star_rule', rule: 0 },
      { statsd: 'a.b.c', name: 'literal_rule', rule: 1 },
    ]);
  });

  it('with glob_disable_ordering literal components beat * regardless of file order', () => {
    const m = mapper(`
defaults:
  glob_disable_ordering: true
mappings:
- match: a.*.*
  name: first
- match: a.b.*
  name: second
- match: a.b.c
  name: third
`);
    check(m, [
      { statsd: 'a.b.c', name: 'third' },
      { statsd: 'a.b.x', name: 'second' },
      { statsd: 'a.x.x', name: 'first' },
    ]);
  });

  it('honours match_metric_type, falling through to the next rule for other types', () => {
    const m = mapper(`
mappings:
- match: test.foo.*
  name: test_foo_counter
  match_metric_type: counter
- match: test.foo.*
  name: test_foo_gauge
  match_metric_type: gauge
- match: test.foo.*
  name: test_foo_timer
  match_metric_type: timer
- match: x\\.(.*)
  match_type: regex
  name: x_$1
  match_metric_type: observer
`);
    check(m, [
      { statsd: 'test.foo.a', type: 'counter', name: 'test_foo_counter' },
      { statsd: 'test.foo.a', type: 'gauge', name: 'test_foo_gauge' },
      { statsd: 'test.foo.a', type: 'observer', name: 'test_foo_timer' },
      { statsd: 'x.y', type: 'observer', name: 'x_y' },
      { statsd: 'x.y', type: 'counter', name: undefined },
    ]);
  });

  it('drop rules need no name; a catch-all regex drops what nothing before it mapped', () => {
    const m = mapper(`
mappings:
- match: test.timing.*.*.*
  name: my_timer
- match: .
  match_type: regex
  action: drop
`);
    expect(m.map('test.timing.a.b.c', 'observer').action).to.equal('map');
    const dropped = m.map('anything.else', 'counter');
    expect(dropped.action).to.equal('drop');
    expect(dropped.rule).to.equal(1);
  });

  it('applies defaults: observer type, buckets, quantiles, ttl, match_type; rules override them', () => {
    const m = mapper(`
defaults:
  observer_type: histogram
  buckets: [0.1, 1, 10]
  match_type: regex
  ttl: 1m20s
mappings:
- match: ^hist\\.
  name: h
- match: ^summ\\.
  name: s
  timer_type: summary
  quantiles:
  - quantile: 0.9
    error: 0.01
- match: ^own\\.
  name: o
  histogram_options:
    buckets: [1, 2]
  ttl: 5s
  scale: 0.001
  honor_labels: true
  help: Own help
`);
    const h = m.map('hist.a', 'observer');
    expect([h.observerType, h.buckets, h.ttlMs]).to.deep.equal(['histogram', [0.1, 1, 10], 80_000]);
    const s = m.map('summ.a', 'observer');
    expect(s.observerType).to.equal('summary');
    expect(s.summary.quantiles).to.deep.equal([{ quantile: 0.9, error: 0.01 }]);
    expect(s.summary.maxAgeMs).to.equal(600_000);
    expect(s.summary.ageBuckets).to.equal(5);
    const o = m.map('own.a', 'observer');
    expect([o.buckets, o.ttlMs, o.scale, o.honorLabels, o.help]).to.deep.equal([[1, 2], 5000, 0.001, true, 'Own help']);
    const none = m.map('nothing', 'observer');
    expect([none.rule, none.observerType, none.ttlMs]).to.deep.equal([-1, 'histogram', 80_000]);
  });

  it('defaults to summaries with statsd_exporter quantiles and client_golang buckets', () => {
    const r = mapper('mappings: []').map('a.b', 'observer');
    expect(r.observerType).to.equal('summary');
    expect(r.buckets).to.deep.equal(DEFAULT_BUCKETS);
    expect(r.summary.quantiles).to.deep.equal(DEFAULT_QUANTILES);
    expect(r.ttlMs).to.equal(0);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['mappings:\n- match: a.b\n', 'mappings[0].name', /required/],
    ['mappings:\n- match: a.b\n  name: 1abc\n', 'mappings[0].name', /not a metric name/],
    ['mappings:\n- match: a..b\n  name: x\n', 'mappings[0].match', /not a glob/],
    ['mappings:\n- match: a.b*\n  name: x\n', 'mappings[0].match', /not a glob/],
    ['mappings:\n- match: 5xx.b\n  name: x\n', 'mappings[0].match', /not a glob/],
    ['mappings:\n- match: a.-b\n  name: x\n', 'mappings[0].match', /not a glob/],
    ['mappings:\n- match: "(a"\n  match_type: regex\n  name: x\n', 'mappings[0].match', /invalid regular expression/],
    ['mappings:\n- match: a.b\n  name: x\n  labels: {"1bad": v}\n', 'mappings[0].labels.1bad', /label name/],
    ['mappings:\n- match: a.b\n  name: x\n  observer_type: bucket\n', 'mappings[0].observer_type', /histogram/],
    ['mappings:\n- match: a.b\n  name: x\n  match_metric_type: set\n', 'mappings[0].match_metric_type', /counter/],
    ['mappings:\n- match: a.b\n  name: x\n  buckets: [1, 0.5]\n', 'mappings[0].buckets', /increasing/],
    ['mappings:\n- match: a.b\n  name: x\n  ttl: soon\n', 'mappings[0].ttl', /duration/],
    [
      'mappings:\n- match: a.b\n  name: x\n  observer_type: histogram\n  summary_options: {max_age: 1m}\n',
      'mappings[0]',
      /summary_options/,
    ],
    [
      'mappings:\n- match: a.b\n  name: x\n  buckets: [1]\n  histogram_options: {buckets: [2]}\n',
      'mappings[0]',
      /both/,
    ],
    ['mappings: [\n', '', /./],
  ];
  for (const [text, path, message] of bad) {
    it(`rejects ${JSON.stringify(text.split('\n').slice(1).join(' ').slice(0, 60))} naming ${path || 'the file'}`, () => {
      const { mapper: m, issues } = load(text);
      expect(m).to.equal(undefined);
      const errors = issues.filter((i) => i.severity === 'error');
      expect(errors.length).to.be.greaterThan(0);
      expect(errors[0]!.path).to.equal(path === '' ? 'mapping' : `mapping: ${path}`);
      expect(errors[0]!.message).to.match(message);
    });
  }

  it('takes the globs statsd_exporter 0.22 takes: later components starting with a digit, repeated dashes', () => {
    const m = mapper(`
mappings:
- match: envoy.cluster.*.upstream_rq_5xx
  name: upstream_5xx_total
  labels: { cluster: "$1" }
- match: api.2fa--check.*
  name: twofa_total
  labels: { step: "$1" }
- match: svc.*.404
  name: not_found_total
  labels: { svc: "$1" }
`);
    check(m, [
      { statsd: 'envoy.cluster.backend.upstream_rq_5xx', name: 'upstream_5xx_total', labels: { cluster: 'backend' } },
      { statsd: 'api.2fa--check.sent', name: 'twofa_total', labels: { step: 'sent' } },
      { statsd: 'svc.shop.404', name: 'not_found_total', labels: { svc: 'shop' } },
      { statsd: 'svc.shop.500', name: undefined },
    ]);
  });

  it('warns about unknown keys instead of rejecting a file statsd_exporter would load', () => {
    const { mapper: m, issues } = load('mappings:\n- match: a.b\n  name: x\n  future_key: 1\n');
    expect(m).to.not.equal(undefined);
    expect(issues).to.deep.equal([
      { path: 'mapping: mappings[0].future_key', severity: 'warning', message: 'unknown key, ignored' },
    ]);
  });
});

describe('expandTemplate (Go regexp.Expand rules)', () => {
  const caps: Record<string, string> = { '1': 'one', '2': 'two', name: 'named' };
  const table: Array<[string, string]> = [
    ['$1', 'one'],
    ['${1}_x', 'one_x'],
    ['$1_x', ''],
    ['a$2b', 'a'],
    ['a${2}b', 'atwob'],
    ['$name', 'named'],
    ['$$1', '$1'],
    ['cost$', 'cost$'],
    ['$-', '$-'],
    ['$9', ''],
  ];
  for (const [t, want] of table)
    it(`${t} → ${JSON.stringify(want)}`, () => expect(expandTemplate(t, (r) => caps[r] ?? '')).to.equal(want));
});

describe('escapeMetricName (statsd_exporter escaping)', () => {
  const table: Array<[string, string]> = [
    ['', ''],
    ['clean_name', 'clean_name'],
    ['with.dots', 'with_dots'],
    ['with-dash', 'with_dash'],
    ['double--dash', 'double_dash'],
    ['triple---dash', 'triple_dash'],
    ['1leading', '_1leading'],
    ['1.leading', '_1_leading'],
    ['ünïcödé', '_n_c_d_'],
    ['emoji😀x', 'emoji_x'],
    ['a:b/c', 'a_b_c'],
  ];
  for (const [input, want] of table)
    it(`${JSON.stringify(input)} → ${want}`, () => expect(escapeMetricName(input)).to.equal(want));
});
