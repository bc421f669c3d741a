import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCliOnce } from '../support/cli-process.js';
import { BACKEND_FACTORIES } from '../../src/backends/registry.js';
import { sepagentSection } from '../support/fake-sepagent-listener.js';

/** The sections of the SepAgent and Graphite backends (nothing is sent: explain only asks them). */
const SEPAGENT_AND_GRAPHITE = `${sepagentSection(5555)}[graphite]
address = "127.0.0.1:2003"
`;

const CONFIG = `backends = ["sepagent", "prometheus", "graphite", "stdout"]
namespace = "app"
default-tags = ["env:test"]
${SEPAGENT_AND_GRAPHITE}[prometheus]
mapping = '''
mappings:
  - match: "app.envoy.cluster.*.upstream_rq_total"
    name: "upstream_requests_total"
    labels:
      cluster: "$1"
  - match: "app.noise.*"
    action: drop
    name: "dropped"
  - match: "app.api.*.count"
    name: "api_calls_total"
    labels:
      op: "$1"
'''
`;

interface Explained {
  line: string;
  parse: { result: string; reason?: string; at?: number; kind?: string };
  series?: { kind: string; name: string; tags: string[]; host: string };
  backends: Array<{
    backend: string;
    explanation?: { emits: string[]; leftOut?: { reason: string; detail: string }; notes?: string[] };
  }>;
}

describe('statsd-sepagent explain (the real CLI)', function () {
  this.timeout(30_000);
  let dir: string;
  let config: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'statsd-sepagent-explain-'));
    config = join(dir, 'config.toml');
    await writeFile(config, CONFIG);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function explain(...lines: string[]): Promise<Explained[]> {
    const r = await runCliOnce(['explain', '--config-path', config, '--json', ...lines]);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Explained);
  }
  const of = (e: Explained, backend: string) => e.backends.find((b) => b.backend === backend)!.explanation!;

  it('a SepAgent name outside cluster_regexp: which regexp failed, on what; the other backends still send it', async () => {
    const [e] = await explain('envoy.cluster.other_cluster.upstream_rq_total:1|c');
    expect(e!.parse).to.deep.include({ result: 'metric', kind: 'counter' });
    expect(e!.series).to.deep.include({
      kind: 'counter',
      name: 'app.envoy.cluster.other_cluster.upstream_rq_total',
      tags: ['env:test'],
      host: '127.0.0.1',
    });
    const sep = of(e!, 'sepagent');
    expect(sep.emits).to.deep.equal([]);
    expect(sep.leftOut).to.deep.equal({
      reason: 'unmatched_name',
      detail:
        'cluster_regexp "external_cluster_sep([0-9]+)" matches nowhere in "app.envoy.cluster.other_cluster.upstream_rq_total"',
    });
    expect(of(e!, 'stdout').emits.join('\n')).to.contain('app.envoy.cluster.other_cluster.upstream_rq_total');
    expect(of(e!, 'graphite').emits[0]).to.match(
      /^stats_counts\.app\.envoy\.cluster\.other_cluster\.upstream_rq_total 1 \d+$/,
    );
  });

  it('a SepAgent name whose cluster ends the name: no_statistics, said in words', async () => {
    const [e] = await explain('envoy.cluster.external_cluster_sep1:5|c');
    expect(of(e!, 'sepagent').leftOut).to.deep.equal({
      reason: 'no_statistics',
      detail:
        'the cluster "external_cluster_sep1" reaches the end of "app.envoy.cluster.external_cluster_sep1": no statistic follows it',
    });
  });

  it('a matched SepAgent name: its SEP, cluster, statistic and the document', async () => {
    const [e] = await explain('envoy.cluster.external_cluster_sep7.upstream_rq_total:3|c');
    const sep = of(e!, 'sepagent');
    expect(sep.leftOut).to.equal(undefined);
    expect(sep.notes).to.deep.equal([
      'app.envoy.cluster.external_cluster_sep7.upstream_rq_total: SEP "sep7", cluster "external_cluster_sep7", statistic "upstream_rq_total"',
    ]);
    const doc = JSON.parse(sep.emits[0]!) as {
      sep: string;
      metrics: Array<{ aggregationType: string; value: number }>;
    };
    expect(doc.sep).to.equal('sep7');
    expect(doc.metrics.map((m) => [m.aggregationType, m.value])).to.deep.equal([
      ['count', 3],
      ['per_second', 3],
    ]);
  });

  it('a rejected line: the reason and the byte where it goes wrong (text output with a caret)', async () => {
    const [bad, rate, type] = await explain('foo:bar|c', 'foo:1|c|@0', 'foo:1|x');
    expect(bad!.parse).to.deep.equal({ result: 'rejected', reason: 'invalid_value', at: 4 });
    expect(bad!.backends).to.deep.equal([]);
    expect(rate!.parse).to.deep.equal({ result: 'rejected', reason: 'invalid_sample_rate', at: 9 });
    expect(type!.parse).to.deep.equal({ result: 'rejected', reason: 'invalid_type', at: 6 });
    const r = await runCliOnce(['explain', '--config-path', config, 'foo:bar|c']);
    expect(r.stdout).to.equal('line: foo:bar|c\n  rejected: invalid_value at byte 4\n    foo:bar|c\n        ^\n');
  });

  it('Prometheus: the mapping rule that matched, the name and labels, the exposition; a drop rule; a type conflict', async () => {
    const [mapped, dropped, gauge, conflict] = await explain(
      'envoy.cluster.c1.upstream_rq_total:2|c',
      'noise.x:1|c',
      'plain:1|g',
      'plain:1|c',
    );
    const p = of(mapped!, 'prometheus');
    expect(p.notes).to.deep.equal([
      'app.envoy.cluster.c1.upstream_rq_total: mapping rule 0 (match: "app.envoy.cluster.*.upstream_rq_total") → upstream_requests_total{cluster="c1", env="test"}',
    ]);
    expect(p.emits).to.include('upstream_requests_total{cluster="c1",env="test"} 2');
    expect(of(dropped!, 'prometheus').leftOut).to.deep.equal({
      reason: 'mapping_drop',
      detail: 'the matching rule says action: drop',
    });
    expect(of(gauge!, 'prometheus').emits).to.include('app_plain{env="test"} 1');
    expect(of(conflict!, 'prometheus').leftOut).to.deep.equal({
      reason: 'type_conflict',
      detail: 'app_plain is already a gauge family with labels [env]',
    });
  });

  it('Prometheus maps and escapes the name as the client wrote it, as statsd_exporter does; SepAgent and Graphite keep the normalised name', async () => {
    const [slash, emoji] = await explain('api.get/threads.count:1|c', 'temp🔥.c:1|g');
    expect(slash!.series!.name).to.equal('app.api.get-threads.count');
    expect(of(slash!, 'prometheus').emits).to.include('api_calls_total{env="test",op="get/threads"} 1');
    expect(of(slash!, 'graphite').emits[0]).to.match(/^stats_counts\.app\.api\.get-threads\.count 1 /);
    expect(emoji!.series!.name).to.equal('app.temp.c');
    expect(of(emoji!, 'prometheus').emits).to.include('app_temp__c{env="test"} 1');
  });

  it('reads lines from stdin when none are given, and refuses an invalid configuration naming the key', async () => {
    const r = spawnSync(process.execPath, [CLI, 'explain', '--config-path', config, '--json'], {
      input: 'a:1|c\n\nb:2|ms\n',
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as Explained).series?.name);
    expect(lines).to.deep.equal(['app.a', 'app.b']);
    const bad = join(dir, 'bad.toml');
    await writeFile(bad, 'backends = ["sepagent"]\n[sepagent]\nport = 5555\n');
    const b = await runCliOnce(['explain', '--config-path', bad, 'a:1|c']);
    expect(b.code).to.equal(1);
    expect(b.stderr).to.contain('sepagent.sep_regexp: is required');
  });

  it('a line a filter drops says so', async () => {
    const f = join(dir, 'filter.toml');
    await writeFile(
      f,
      'backends = ["stdout"]\nfilters = "noisy"\n[filter.noisy]\nmatch-metrics = ["noisy.*"]\ndrop-metric = true\n',
    );
    const r = await runCliOnce(['explain', '--config-path', f, '--json', 'noisy.x:1|c']);
    expect(r.code, r.stderr).to.equal(0);
    const e = JSON.parse(r.stdout) as Explained & { dropped: { reason: string } };
    expect(e.dropped.reason).to.equal('filtered');
    expect(e.backends).to.deep.equal([]);
  });

  it('every backend type answers through its explain method', async () => {
    const f = join(dir, 'all.toml');
    await writeFile(
      f,
      `backends = [${[...BACKEND_FACTORIES.keys()].map((t) => JSON.stringify(t)).join(', ')}]
${SEPAGENT_AND_GRAPHITE}[datadog]
api_key = "secret"
[cloudwatch]
region = "eu-west-1"
[prometheus-remote-write]
url = "http://127.0.0.1:9/api/v1/write"
[forwarder]
api-endpoint = "http://127.0.0.1:9"
[statsdaemon]
address = "127.0.0.1:9"
[otlp]
endpoint = "http://127.0.0.1:9"
`,
    );
    const r = await runCliOnce(['explain', '--config-path', f, '--json', 'a.b:3|ms|#x:y']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).not.to.contain('secret');
    const e = JSON.parse(r.stdout) as Explained;
    expect(e.backends.map((b) => b.backend)).to.deep.equal([...BACKEND_FACTORIES.keys()]);
    for (const b of e.backends) {
      expect(b.explanation, b.backend).not.to.equal(undefined);
      if (b.backend === 'null' || b.backend === 'sepagent')
        expect(b.explanation!.leftOut, b.backend).not.to.equal(undefined);
      else expect(b.explanation!.emits.join('\n'), b.backend).to.match(/a[._]b/);
    }
  });
});
