import { expect } from 'chai';
import { EnvoyTagExtractor, extractEnvoyTags } from '../../../src/shared/envoy-tags.js';

describe("Envoy's default tag extraction", () => {
  // Stat names and the tags Envoy's own default rules give them (Envoy's tag extractor tests).
  const cases: Array<[string, string, string[]]> = [
    [
      'cluster.ratings.upstream_rq_200',
      'cluster.upstream_rq',
      ['envoy.response_code:200', 'envoy.cluster_name:ratings'],
    ],
    [
      'cluster.ratings.upstream_rq_2xx',
      'cluster.upstream_rq_xx',
      ['envoy.response_code_class:2', 'envoy.cluster_name:ratings'],
    ],
    ['cluster.ratings.upstream_cx_active', 'cluster.upstream_cx_active', ['envoy.cluster_name:ratings']],
    [
      'http.ingress_http.downstream_rq_5xx',
      'http.downstream_rq_xx',
      ['envoy.response_code_class:5', 'envoy.http_conn_manager_prefix:ingress_http'],
    ],
    [
      'listener.0.0.0.0_8080.downstream_cx_total',
      'listener.downstream_cx_total',
      ['envoy.listener_address:0.0.0.0_8080'],
    ],
    [
      'listener.[__1]_443.http.ingress.downstream_rq_2xx',
      'listener.http.downstream_rq_xx',
      ['envoy.response_code_class:2', 'envoy.http_conn_manager_prefix:ingress', 'envoy.listener_address:[__1]_443'],
    ],
    [
      'vhost.backend.vcluster.api.upstream_rq_time',
      'vhost.vcluster.upstream_rq_time',
      ['envoy.virtual_cluster:api', 'envoy.virtual_host:backend'],
    ],
    ['tcp.ingress_tcp.downstream_cx_total', 'tcp.downstream_cx_total', ['envoy.tcp_prefix:ingress_tcp']],
    ['server.live', 'server.live', []],
    // As Envoy's statsd sink sends them, with its default prefix.
    [
      'envoy.cluster.ratings.upstream_rq_503',
      'envoy.cluster.upstream_rq',
      ['envoy.response_code:503', 'envoy.cluster_name:ratings'],
    ],
    ['envoy.server.live', 'envoy.server.live', []],
  ];
  for (const [name, base, tags] of cases)
    it(`${name} → ${base}`, () => expect(extractEnvoyTags(name, 'envoy')).to.deep.equal({ name: base, tags }));

  it('istio: cluster names with dots and | are taken whole', () => {
    expect(
      extractEnvoyTags('cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_200', 'istio'),
    ).to.deep.equal({
      name: 'cluster.upstream_rq',
      tags: ['envoy.response_code:200', 'envoy.cluster_name:outbound|9080||reviews.default.svc.cluster.local'],
    });
    // Envoy's own rule stops at the first dot.
    expect(
      extractEnvoyTags('cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_cx_total', 'envoy').tags,
    ).to.deep.equal(['envoy.cluster_name:outbound|9080||reviews']);
  });

  it('the extractor keeps a series untouched when off or when nothing matches, and appends to its tags', () => {
    expect(new EnvoyTagExtractor('off').apply('cluster.a.upstream_rq_200', ['x'])).to.deep.equal({
      name: 'cluster.a.upstream_rq_200',
      tags: ['x'],
    });
    const e = new EnvoyTagExtractor('envoy', 2);
    expect(e.apply('cluster.a.upstream_rq_200', ['x'])).to.deep.equal({
      name: 'cluster.upstream_rq',
      tags: ['x', 'envoy.response_code:200', 'envoy.cluster_name:a'],
    });
    expect(e.apply('app.hits', ['x'])).to.deep.equal({ name: 'app.hits', tags: ['x'] });
    expect(e.apply('cluster.b.upstream_cx_total', [])).to.deep.equal({
      name: 'cluster.upstream_cx_total',
      tags: ['envoy.cluster_name:b'],
    });
  });
});
