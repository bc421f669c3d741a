import { expect } from 'chai';
import { mkdtempSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HotShots, { type StatsD as StatsDClient } from 'hot-shots';
import { CliProcess } from '../support/cli-process.js';
import { httpGet, metricValue, stableStdout } from '../support/daemon-harness.js';
import { FakeSepAgentListener, sepagentSection } from '../support/fake-sepagent-listener.js';
import { waitFor } from '../support/wait-for.js';

// hot-shots, the most used Node StatsD client; over a Unix socket it sends through unix-dgram.
const StatsD = HotShots;

/** Every call of hot-shots' API once: 12 metric lines, an event and a service check. */
function useWholeApi(c: StatsDClient): void {
  // hot-shots samples on the client (Math.random() <= rate): make it always send.
  const random = Math.random;
  Math.random = () => 0;
  try {
    c.increment('upstream_rq_total');
    c.increment('upstream_rq_total', 2, 0.5, ['route:a']);
    c.decrement('upstream_rq_total');
    c.gauge('cx_active', 5);
    c.gaugeDelta('cx_active', -2); // no deltas in gostatsd semantics: the gauge is set to -2
    c.gauge('cx_total', 10);
    c.gaugeDelta('cx_total', 3); // sends +3|g: the gauge is set to 3, not 13 (docs/clients.md)
    c.histogram('rq_time', 3);
    c.distribution('rq_time', 4);
    c.timing('rq_time', 12);
    c.timing('rq_time', 20, 0.25);
    c.set('users', 'joe');
    c.unique('users', 'ann');
    c.gauge('ts_gauge', 7, { timestamp: 1700000000 }); // DogStatsD 1.3 timestamp
    c.event('deploy', 'v1 is out', { alert_type: 'success' }, ['team:a']);
    c.check('svc.up', c.CHECKS.WARNING, { hostname: 'h1', message: 'slow|ish' }, ['x:y']);
  } finally {
    Math.random = random;
  }
}

const LINES_PER_CLIENT = 16;

describe('e2e: hot-shots, the whole API, over UDP and a Unix socket', function () {
  this.timeout(30_000);

  it('aggregates every call and prints the service checks; the socket file is restricted and removed at exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clients-'));
    const socketPath = join(dir, 'dsd.socket');
    const agent = await FakeSepAgentListener.start();
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      [
        'backends = "stdout sepagent"',
        'flush-interval = "1h"', // one flush: the final one at SIGTERM
        'container-id-tag = true',
        `unix-socket = "${socketPath}"`,
        sepagentSection(agent.port),
      ].join('\n'),
    );
    const cli = new CliProcess(['--config-path', config, '--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0']);
    const ports = await cli.ready();
    expect(statSync(socketPath).mode & 0o777).to.equal(0o620);

    const options = {
      globalTags: { env: 'test' },
      datadog: true, // DogStatsD 1.2 fields after the tags: |c:<container id>|card:low
      containerID: 'c0ffee',
      cardinality: 'low' as const,
      includeDatadogTelemetry: false,
      maxBufferSize: 0,
      errorHandler: (err: Error) => {
        throw err;
      },
    };
    const udp = new StatsD({
      ...options,
      host: '127.0.0.1',
      port: ports.udp,
      prefix: 'envoy.cluster.external_cluster_sep1.',
    });
    const uds = new StatsD({
      ...options,
      protocol: 'uds',
      path: socketPath,
      prefix: 'envoy.cluster.external_cluster_sep2.',
    });
    useWholeApi(udp);
    useWholeApi(uds);
    await waitFor(
      async () =>
        metricValue((await httpGet(ports.web, '/metrics')).body, 'statsd_sepagent_lines_received_total') ===
        2 * LINES_PER_CLIENT,
      10_000,
      'every line received',
    );
    const metrics = (await httpGet(ports.web, '/metrics')).body;
    expect(metricValue(metrics, 'statsd_sepagent_bad_lines_total{reason="invalid_type"}')).to.equal(0);
    expect(metricValue(metrics, 'statsd_sepagent_service_checks_received_total')).to.equal(2);
    expect(metricValue(metrics, 'statsd_sepagent_events_received_total')).to.equal(2);
    expect(metricValue(metrics, 'statsd_sepagent_client_timestamps_total')).to.equal(2);
    // gaugeDelta's signed lines are counted (set as written under the default rule).
    expect(metricValue(metrics, 'statsd_sepagent_gauge_signed_lines_total')).to.equal(4);
    expect(metricValue(metrics, 'statsd_sepagent_datagrams_received_total{transport="unix"}')).to.equal(
      LINES_PER_CLIENT,
    );
    udp.close();
    uds.close();
    expect(await cli.stop()).to.equal(0);
    expect(existsSync(socketPath)).to.equal(false);

    // Exactly what gostatsd semantics make of the calls, for both transports: the UDP
    // sender's series carry its address as host, Unix socket lines have none.
    const expected = (sep: number, host: string): string[] => {
      const base = `envoy.cluster.external_cluster_sep${sep}`;
      const tags = `container_id.c0ffee.env.test`;
      const timer = (sub: string, v: string): string => `stats.timers.${base}.rq_time.${tags}${host}.${sub} ${v}`;
      return [
        `stats.counter.${base}.upstream_rq_total.${tags}.route.a${host}.count 4`, // 2 at rate 0.5
        `stats.counter.${base}.upstream_rq_total.${tags}${host}.count 0`, // +1 -1
        `stats.gauge.${base}.cx_active.${tags}${host} -2.000000`,
        `stats.gauge.${base}.cx_total.${tags}${host} 3.000000`,
        `stats.gauge.${base}.ts_gauge.${tags}${host} 7.000000`,
        `stats.set.${base}.users.${tags}${host} 2`,
        // h 3, d 4, ms 12, ms 20 at rate 0.25 (counted 4 times)
        timer('count', '7'),
        timer('count_90', '4.000000'),
        timer('lower', '3.000000'),
        timer('mean', '9.750000'),
        timer('mean_90', '9.750000'),
        timer('median', '8.000000'),
        timer('std', '6.869316'),
        timer('sum', '39.000000'),
        timer('sum_90', '39.000000'),
        timer('sum_squares', '569.000000'),
        timer('sum_squares_90', '569.000000'),
        timer('upper', '20.000000'),
        timer('upper_90', '20.000000'),
      ];
    };
    expect(stableStdout(cli.stdout)).to.deep.equal([...expected(1, '.s.127.0.0.1'), ...expected(2, '')].sort());

    const records = (kind: string): Array<Record<string, unknown>> =>
      cli.stdout
        .split('\n')
        .filter((l) => l.startsWith(`${kind} `))
        .map((l) => JSON.parse(l.slice(kind.length + 1)) as Record<string, unknown>);
    const checks = records('check');
    expect(checks.map((c) => ({ ...c, timestamp: typeof c['timestamp'] }))).to.have.deep.members(
      [1, 2].map((sep) => ({
        name: `envoy.cluster.external_cluster_sep${sep}.svc.up`,
        status: 1,
        timestamp: 'number',
        hostname: 'h1',
        message: 'slow|ish',
        tags: ['env:test', 'x:y'],
      })),
    );
    const events = records('event');
    expect(events.map((e) => [e['title'], e['hostname'], e['alertType'], e['tags']])).to.have.deep.members([
      ['envoy.cluster.external_cluster_sep1.deploy', '127.0.0.1', 'success', ['env:test', 'team:a']],
      ['envoy.cluster.external_cluster_sep2.deploy', '', 'success', ['env:test', 'team:a']],
    ]);

    // SepAgent gets the same aggregates (rates depend on the interval's length).
    await agent.drain();
    const items = agent.documents.flatMap((d) =>
      d.metrics.map((m) => `${d.sep} ${m.metricType} ${m.statistics} ${m.aggregationType} ${m.value}`),
    );
    const want = (sep: string): string[] => [
      `${sep} counter upstream_rq_total count 0`,
      `${sep} counter upstream_rq_total count 4`,
      `${sep} gauge cx_active value -2`,
      `${sep} gauge cx_total value 3`,
      `${sep} gauge ts_gauge value 7`,
      `${sep} set users len 2`,
      ...[
        ['lower', 3],
        ['upper', 20],
        ['count', 7],
        ['mean', 9.75],
        ['median', 8],
        ['std', 6.869315832017043],
        ['sum', 39],
        ['sum_squares', 569],
        ['count_90', 4],
        ['mean_90', 9.75],
        ['sum_90', 39],
        ['sum_squares_90', 569],
        ['upper_90', 20],
      ].map(([a, v]) => `${sep} timers rq_time ${a} ${v}`),
    ];
    expect(items.filter((i) => !/ (per_second|count_ps) /.test(i))).to.have.members([...want('sep1'), ...want('sep2')]);
    await agent.close();
  });

  it('gauge-deltas = "apply": gaugeDelta adds to the last value, a new gauge starts at 0, a bare gauge still sets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clients-deltas-'));
    const config = join(dir, 'config.toml');
    writeFileSync(config, ['backends = "stdout"', 'flush-interval = "1h"', 'gauge-deltas = "apply"'].join('\n'));
    const cli = new CliProcess(['--config-path', config, '--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0']);
    const ports = await cli.ready();
    const c = new StatsD({ host: '127.0.0.1', port: ports.udp, maxBufferSize: 0, includeDatadogTelemetry: false });
    c.gauge('pool', 10);
    c.gaugeDelta('pool', 3); // +3|g → 13
    c.gaugeDelta('pool', -2); // -2|g → 11 (the line cache's fast path: same series as the line before)
    c.gaugeDelta('fresh', 3); // a new gauge starts at 0 → 3
    c.gauge('neg', 0);
    c.gaugeDelta('neg', -5); // 0 then -5 sets -5, Etsy statsd's idiom
    await waitFor(
      async () =>
        metricValue((await httpGet(ports.web, '/metrics')).body, 'statsd_sepagent_lines_received_total') === 6,
      10_000,
      'every line received',
    );
    const metrics = (await httpGet(ports.web, '/metrics')).body;
    expect(metricValue(metrics, 'statsd_sepagent_gauge_signed_lines_total')).to.equal(4);
    c.close();
    expect(await cli.stop()).to.equal(0);
    expect(stableStdout(cli.stdout)).to.deep.equal([
      'stats.gauge.fresh.s.127.0.0.1 3.000000',
      'stats.gauge.neg.s.127.0.0.1 -5.000000',
      'stats.gauge.pool.s.127.0.0.1 11.000000',
    ]);
  });
});
