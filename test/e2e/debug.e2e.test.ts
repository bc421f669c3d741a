import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, runCliOnce } from '../support/cli-process.js';
import { httpGet, metricValue, sendUdp, stableStdout } from '../support/daemon-harness.js';
import { FakeSepAgentListener, sepagentSection } from '../support/fake-sepagent-listener.js';
import { waitFor } from '../support/wait-for.js';

const LISTEN = ['--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0'];

/** A daemon from these config lines; stopped by the caller. */
async function daemon(lines: string[]): Promise<{ cli: CliProcess; udp: number; web: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'debug-e2e-'));
  const config = join(dir, 'config.toml');
  writeFileSync(config, lines.join('\n') + '\n');
  const cli = new CliProcess(['--config-path', config, ...LISTEN]);
  const p = await cli.ready();
  return { cli, udp: p.udp, web: p.web };
}

async function linesReceived(web: number): Promise<number> {
  return metricValue((await httpGet(web, '/metrics')).body, 'statsd_sepagent_lines_received_total') ?? 0;
}

describe('e2e: tap, capture and replay, top (the real CLI against a real daemon)', function () {
  this.timeout(40_000);

  it('tap streams received, rejected and unmatched lines filtered by a name glob, ends at its count, and is one per kind', async () => {
    const agent = await FakeSepAgentListener.start();
    const d = await daemon([
      'backends = "sepagent"',
      'flush-interval = "1s"',
      'debug-endpoints = "tap"',
      sepagentSection(agent.port),
    ]);
    try {
      const tap = new CliProcess([
        'tap',
        '--web-addr',
        `127.0.0.1:${d.web}`,
        '--json',
        '--match',
        'envoy.*',
        '--count',
        '5',
        '--duration',
        '20s',
      ]);
      await waitFor(() => tap.stderr.includes('tap: open'), 10_000, `the tap opens (${tap.stderr})`);
      // A second tap of a kind already tapped is refused; the kinds are named.
      const second = await httpGet(d.web, '/debug/tap?kind=rejected');
      expect(second.status).to.equal(409);
      expect(second.body).to.contain('rejected');
      await sendUdp(d.udp, [
        'other.name:1|c', // outside the glob
        'envoy.cluster.other_cluster.rq:1|c\nenvoy.bad:x|c',
        'envoy.cluster.external_cluster_sep1.rq:2|c',
      ]);
      expect(await tap.exited).to.equal(0);
      const records = tap.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records.map(({ t, ...r }) => (expect(t).to.be.a('number'), r))).to.have.deep.members([
        { kind: 'received', transport: 'udp', source: '127.0.0.1', line: 'envoy.cluster.other_cluster.rq:1|c' },
        { kind: 'received', transport: 'udp', source: '127.0.0.1', line: 'envoy.bad:x|c' },
        { kind: 'rejected', source: '127.0.0.1', reason: 'invalid_value', at: 10, line: 'envoy.bad:x|c' },
        { kind: 'received', transport: 'udp', source: '127.0.0.1', line: 'envoy.cluster.external_cluster_sep1.rq:2|c' },
        { kind: 'unmatched', backend: 'sepagent', name: 'envoy.cluster.other_cluster.rq', reason: 'unmatched_name' },
      ]);
      // The tap is closed once it ended: another one may open.
      const again = await runCliOnce([
        'tap',
        '--web-addr',
        `127.0.0.1:${d.web}`,
        '--duration',
        '1s',
        '--kind',
        'rejected',
      ]);
      expect(again.code, again.stderr).to.equal(0);
      // Bad parameters name the parameter.
      expect((await httpGet(d.web, '/debug/tap?duration=2h')).body).to.match(/^duration: /);
      expect((await httpGet(d.web, '/debug/tap?kind=lines')).body).to.match(/^kind: unknown lines/);
    } finally {
      await d.cli.stop();
      await agent.close();
    }
  });

  it('the tap is off by default (it shows the data itself); /debug/metrics is on; debug-endpoints = "off" closes both', async () => {
    const d = await daemon(['backends = "stdout"']);
    try {
      const t = await httpGet(d.web, '/debug/tap');
      expect(t.status).to.equal(403);
      expect(t.body).to.contain('debug-endpoints = "tap"');
      const r = await runCliOnce(['tap', '--web-addr', `127.0.0.1:${d.web}`]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('403');
      expect((await httpGet(d.web, '/debug/metrics')).status).to.equal(200);
    } finally {
      await d.cli.stop();
    }
    const off = await daemon(['backends = "stdout"', 'debug-endpoints = "off"']);
    try {
      expect((await httpGet(off.web, '/debug/metrics')).status).to.equal(403);
    } finally {
      await off.cli.stop();
    }
  });

  it('replaying a capture into a second daemon reproduces the same aggregates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capture-'));
    const file = join(dir, 'capture.ndjson');
    const a = await daemon(['backends = "stdout"', 'flush-interval = "1h"', 'debug-endpoints = "tap"']);
    const datagrams: string[] = [];
    for (let i = 0; i < 40; i++) {
      datagrams.push(
        [
          `req.count:${i % 7}|c|@0.5|#route:r${i % 3}`,
          `pool.size:${i}|g`,
          `pool.size:+1|g`,
          `req.time:${(i * 37) % 101}|ms|#route:r${i % 2}`,
          `users:u${i % 9}|s`,
          i % 10 === 0 ? 'garbage-line' : `pack:${i}:${i + 1}|h`,
        ].join('\n'),
      );
    }
    let stdoutA: string;
    try {
      const capture = new CliProcess([
        'capture',
        '--web-addr',
        `127.0.0.1:${a.web}`,
        '--out',
        file,
        '--count',
        String(datagrams.length),
        '--duration',
        '20s',
      ]);
      await waitFor(() => capture.stderr.includes('capture: open'), 10_000, 'the capture opens');
      await sendUdp(a.udp, datagrams);
      expect(await capture.exited, capture.stderr).to.equal(0);
      expect(capture.stderr).to.contain(`captured ${datagrams.length} datagrams`);
    } finally {
      await a.cli.stop();
      stdoutA = a.cli.stdout;
    }
    const records = readFileSync(file, 'utf8').trim().split('\n');
    expect(records).to.have.length(datagrams.length);
    expect(
      records.map((l) => Buffer.from((JSON.parse(l) as { data: string }).data, 'base64').toString()),
    ).to.deep.equal(datagrams);

    const b = await daemon(['backends = "stdout"', 'flush-interval = "1h"']);
    try {
      const r = await runCliOnce(['replay', file, '--to', `127.0.0.1:${b.udp}`, '--speed', '0']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.contain(`replayed ${datagrams.length} datagrams`);
      await waitFor(async () => (await linesReceived(b.web)) === datagrams.length * 6, 10_000, 'every line replayed');
    } finally {
      await b.cli.stop();
    }
    const want = stableStdout(stdoutA);
    expect(want.length).to.be.greaterThan(20);
    expect(stableStdout(b.cli.stdout)).to.deep.equal(want);
  });

  it('replay refuses a file that is not a capture, naming the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capture-bad-'));
    const file = join(dir, 'bad.ndjson');
    writeFileSync(file, '{"kind":"datagram","t":1,"data":"YTox fGM="}\n{"kind":"received"}\n');
    const r = await runCliOnce(['replay', file, '--to', '127.0.0.1:9']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`${file}:2: not a captured datagram`);
  });

  it('top names what exploded: the metric with the most new series and the tag key behind them', async () => {
    const d = await daemon(['backends = "stdout"', 'max-series = 300']);
    try {
      const lines: string[] = [];
      for (let i = 0; i < 50; i++) lines.push('cpu.load:1|g|#host:a');
      for (let i = 0; i < 400; i++) lines.push(`http.requests:1|c|#path:/item/${i},method:GET`);
      await sendUdp(
        d.udp,
        Array.from({ length: 45 }, (_, k) => lines.slice(k * 10, k * 10 + 10).join('\n')),
      );
      await waitFor(async () => (await linesReceived(d.web)) === 450, 10_000, 'every line received');
      const json = await runCliOnce(['top', '--web-addr', `127.0.0.1:${d.web}`, '--json']);
      expect(json.code, json.stderr).to.equal(0);
      const r = JSON.parse(json.stdout) as {
        bySeries: Array<{ key: string; count: number; tagKeys: Array<{ key: string; values: number }> }>;
        byCapped: Array<{ key: string; count: number }>;
        series: { live: number; max: number; dropped: number };
      };
      expect(r.series).to.deep.equal({ live: 300, max: 300, dropped: 101 });
      expect(r.bySeries[0]!.key).to.equal('http.requests');
      expect(r.bySeries[0]!.count).to.equal(299);
      expect(r.bySeries[0]!.tagKeys[0]!.key).to.equal('path');
      expect(r.byCapped).to.deep.equal([{ key: 'http.requests', count: 101, error: 0 }]);
      const text = await runCliOnce(['top', '--web-addr', `127.0.0.1:${d.web}`]);
      expect(text.stdout).to.contain('live series 300 of max-series 300; 101 samples refused at the cap');
      expect(text.stdout).to.match(/MOST SAMPLES REFUSED AT MAX-SERIES\n\s+101 {2}http\.requests/);
    } finally {
      await d.cli.stop();
    }
  });
});
