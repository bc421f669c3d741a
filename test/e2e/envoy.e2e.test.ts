import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue } from '../support/daemon-harness.js';
import { sendAll, unixClient } from '../support/unix-dgram.js';
import { FakeSepAgentListener, sepagentSection } from '../support/fake-sepagent-listener.js';
import { waitFor } from '../support/wait-for.js';

describe('e2e: Envoy and Istio names', function () {
  this.timeout(30_000);

  it("Envoy's Unix socket sink: envoy-tag-extraction gives Prometheus Envoy's tags while SepAgent keeps the names it matches; istio-names keeps | in names", async () => {
    const agent = await FakeSepAgentListener.start();
    const dir = mkdtempSync(join(tmpdir(), 'envoy-'));
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      [
        'backends = "sepagent prometheus"',
        'flush-interval = "200ms"',
        'envoy-tag-extraction = "istio"',
        'istio-names = true',
        `unix-socket = "${join(dir, 'envoy-statsd.socket')}"`,
        sepagentSection(agent.port),
      ].join('\n'),
    );
    const cli = new CliProcess(['--config-path', config, '--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0']);
    try {
      const ports = await cli.ready();
      // As Envoy's statsd sink with a `pipe` address sends them: one stat per datagram.
      const sink = unixClient(join(dir, 'envoy-statsd.socket'));
      await sendAll(
        sink,
        [
          'envoy.cluster.external_cluster_sep1.upstream_rq_200:3|c',
          'envoy.cluster.external_cluster_sep1.upstream_rq_503:1|c',
          'envoy.cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_cx_active:4|g',
        ].map((l) => Buffer.from(l)),
      );
      sink.close();
      // SepAgent: the names it matches today, unchanged.
      await waitFor(() => agent.documents.some((d) => d.sep === 'sep1'), 5000, 'a SepAgent document');
      const items = agent.documents
        .find((d) => d.sep === 'sep1')!
        .metrics.filter((m) => m.aggregationType === 'count')
        .map((m) => `${m.statistics}=${m.value}`)
        .sort();
      expect(items).to.deep.equal(['upstream_rq_200=3', 'upstream_rq_503=1']);
      // Prometheus: one family with Envoy's tags as labels; Istio's cluster name whole.
      const page = await waitFor(
        async () => {
          const body = (await httpGet(ports.web, '/metrics')).body;
          return body.includes('envoy_cluster_upstream_cx_active') && body;
        },
        5000,
        'the prometheus series',
      );
      expect(
        metricValue(
          page,
          'envoy_cluster_upstream_rq{envoy_cluster_name="external_cluster_sep1",envoy_response_code="200"}',
        ),
      ).to.equal(3);
      expect(
        metricValue(
          page,
          'envoy_cluster_upstream_rq{envoy_cluster_name="external_cluster_sep1",envoy_response_code="503"}',
        ),
      ).to.equal(1);
      expect(
        metricValue(
          page,
          'envoy_cluster_upstream_cx_active{envoy_cluster_name="outbound|9080||reviews.default.svc.cluster.local"}',
        ),
      ).to.equal(4);
    } finally {
      expect(await cli.stop()).to.equal(0);
      await agent.close();
    }
  });
});
