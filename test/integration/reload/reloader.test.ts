import { ManualClock } from '../../support/manual-clock.js';
import { COMPONENTS } from '../../../src/daemon/components.js';
import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { ConfigReloader, documentHash, type ConfigDocument } from '../../../src/reload/reloader.js';
import { systemClock } from '../../../src/shared/clock.js';
import { createLogger, silentLogger } from '../../../src/shared/logger.js';
import { FakeSepAgentListener } from '../../support/fake-sepagent-listener.js';
import { httpGet, metricValue, startDaemon, testConfig } from '../../support/daemon-harness.js';
import { SteadySender, STEADY_LINE } from '../../support/steady-sender.js';
import { waitFor } from '../../support/wait-for.js';

const SEP = { sep_regexp: 'sep([0-9]+)', cluster_regexp: 'external_cluster_sep([0-9]+)' };
const LINE = STEADY_LINE;

function toml(port: number, extra = ''): string {
  return `backends = "sepagent"\nflush-interval = "100ms"\n${extra}[sepagent]\nport = ${port}\nsep_regexp = '${SEP.sep_regexp}'\ncluster_regexp = '${SEP.cluster_regexp}'\n`;
}

function tomlDoc(text: string): ConfigDocument {
  return { text, format: 'toml', origin: 'test', source: 'file' };
}

describe('live reload in a running daemon (real sockets)', function () {
  this.timeout(20_000);
  let daemon: Daemon | undefined;
  let agents: FakeSepAgentListener[] = [];

  afterEach(async () => {
    await daemon?.shutdown();
    daemon = undefined;
    for (const a of agents) await a.close();
    agents = [];
  });

  it('moves SepAgent to another port under a steady stream: every sample delivered exactly once', async () => {
    const [a, b] = (agents = [await FakeSepAgentListener.start(), await FakeSepAgentListener.start()]);
    daemon = await startDaemon({
      backends: 'sepagent',
      'flush-interval': '100ms',
      sepagent: { port: a!.port, ...SEP },
    });
    const reloader = new ConfigReloader({
      layers: { flags: { 'metrics-addr': '127.0.0.1:0', 'web-addr': '127.0.0.1:0' } },
      catalog: COMPONENTS,
      apply: (c) => daemon!.applyConfig(c),
      metrics: daemon.metrics,
      logger: silentLogger,
      clock: systemClock,
    });
    const sender = new SteadySender(daemon.addresses().udp.port);
    await waitFor(() => a!.documents.length >= 3);
    const outcome = await reloader.reload(tomlDoc(toml(b!.port)));
    expect(outcome.result).to.equal('applied');
    const swapAt = Date.now();
    await waitFor(() => b!.documents.length >= 3);
    await sender.stop();
    await waitFor(() => daemon!.stats.lines === sender.sent);
    await daemon.shutdown(); // final flush
    // The last datagrams may still be on their way when shutdown resolves: wait until the
    // agents hold every datagram the daemon sent (its own count), then nothing more can come.
    const sentDatagrams = (
      await daemon.metrics.registry.getSingleMetric('statsd_sepagent_backend_datagrams_sent_total')!.get()
    ).values.reduce((n, v) => n + v.value, 0);
    await waitFor(() => a!.documents.length + b!.documents.length === sentDatagrams, 5000, 'every datagram sent');
    const total = a!.counterTotal('upstream_rq_total') + b!.counterTotal('upstream_rq_total');
    expect(total).to.equal(sender.sent);
    // The old agent received nothing after the swap's in-flight flush; the new one nothing before it.
    expect(a!.documents.every((d) => d.at <= swapAt + 50)).to.equal(true);
    expect(b!.documents.length).to.be.greaterThan(0);
  });

  it('applies flush interval, percentiles, tags and verbosity live; keeps restart-only keys and says so', async () => {
    // A private logger: the reload switches it to debug.
    const logger = createLogger({
      format: 'json',
      level: 'info',
      destination: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    daemon = await startDaemon({ backends: 'null', 'flush-interval': '1h' }, { logger });
    const udpPort = daemon.addresses().udp.port;
    const next = testConfig({
      backends: 'null',
      'flush-interval': '50ms',
      'percent-threshold': '50 99',
      'default-tags': 'env:prod',
      verbose: true,
      'metrics-addr': '127.0.0.1:1',
      'max-workers': 3,
    });
    const plan = await daemon.applyConfig(next);
    expect(plan.live).to.have.members(['flush-interval', 'percent-threshold', 'default-tags', 'verbose']);
    expect(plan.restartRequired).to.have.members(['metrics-addr', 'max-workers']);
    expect(daemon.config.receivers['udp']).to.deep.include({ address: '127.0.0.1:0' });
    expect(daemon.config.maxWorkers).to.not.equal(3);
    expect(daemon.config.flushIntervalMs).to.equal(50);
    expect(daemon.aggregator.statsConfig.percentThresholds).to.deep.equal([50, 99]);
    expect(daemon.addresses().udp.port).to.equal(udpPort);
    expect(logger.isLevelEnabled('debug')).to.equal(true);
    // The new flush interval is in force: flushes now run every 50 ms.
    const flushes = async (): Promise<number> =>
      metricValue((await httpGet(daemon!.addresses().web!.port, '/metrics')).body, 'statsd_sepagent_flushes_total') ??
      0;
    const before = await flushes();
    await waitFor(async () => (await flushes()) - before >= 4, 5000, 'four flushes (at 1h there would be none)');
    // New lines get the new default tags.
    daemon.ingester.ingestDatagram(Buffer.from('a:1|c'), '127.0.0.1');
    const snap = daemon.aggregator.snapshotAndReset(0, 1);
    expect(snap.counters[0]!.tags).to.include('env:prod');
  });

  it('rejects an invalid document as a whole: one log line with every problem, failure metric, old config kept', async () => {
    const [a] = (agents = [await FakeSepAgentListener.start()]);
    daemon = await startDaemon({
      backends: 'sepagent',
      'flush-interval': '100ms',
      sepagent: { port: a!.port, ...SEP },
    });
    const lines: string[] = [];
    const logger = createLogger({
      format: 'json',
      level: 'info',
      destination: new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    });
    const reloader = new ConfigReloader({
      layers: {},
      catalog: COMPONENTS,
      apply: (c) => daemon!.applyConfig(c),
      metrics: daemon.metrics,
      logger,
      clock: systemClock,
    });
    reloader.started(tomlDoc('whatever'));
    const bad = `backends = "sepagent"\nflush-intervall = "1s"\npercent-threshold = "200"\n[sepagent]\nport = 70000\nsep_regexp = '('\n`;
    const outcome = await reloader.reload(tomlDoc(bad));
    expect(outcome.result).to.equal('rejected');
    const errors = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r['level'] === 50);
    expect(errors).to.have.length(1);
    const msg = String(errors[0]!['msg']);
    for (const key of ['flush-intervall', 'percent-threshold', 'sepagent.port', 'sepagent.sep_regexp'])
      expect(msg, key).to.contain(key);
    const body = (await httpGet(daemon.addresses().web!.port, '/metrics')).body;
    expect(metricValue(body, 'statsd_sepagent_config_reloads_total{result="failure"}')).to.equal(1);
    expect(metricValue(body, 'statsd_sepagent_config_last_reload_successful')).to.equal(0);
    expect(body).to.contain(`statsd_sepagent_config_info{hash="${documentHash('whatever')}",source="file"} 1`);
    // Delivery continues on the old settings.
    const before = a!.documents.length;
    daemon.ingester.ingestDatagram(Buffer.from(LINE), '127.0.0.1');
    await waitFor(() => a!.documents.length > before);
    // A bad TOML syntax names its line.
    const syntax = await reloader.reload(tomlDoc('backends = "null"\nflush-interval = \n'));
    expect(syntax.result === 'rejected' && syntax.issues[0]!.message).to.match(/TOML syntax error: line 2/);
  });

  it('debounces a burst of documents into one reload of the last, and skips unchanged ones', async () => {
    daemon = await startDaemon({ backends: 'null', 'flush-interval': '1h' });
    const clock = new ManualClock();
    let applied = 0;
    const reloader = new ConfigReloader({
      layers: { flags: { 'metrics-addr': '127.0.0.1:0', 'web-addr': '127.0.0.1:0' } },
      catalog: COMPONENTS,
      apply: (c) => {
        applied++;
        return daemon!.applyConfig(c);
      },
      metrics: daemon.metrics,
      logger: silentLogger,
      clock,
      debounceMs: 50,
    });
    const outcomes: string[] = [];
    for (let i = 1; i <= 5; i++)
      reloader.offer(tomlDoc(`backends = "null"\nflush-interval = "${i}s"\n`), (o) => outcomes.push(o.result));
    clock.advance(49);
    expect(outcomes).to.deep.equal([]); // still within the window
    clock.advance(1); // the window ends: one reload, of the last document
    await waitFor(() => outcomes.length === 1);
    expect(clock.pendingTimers).to.equal(0); // nothing else is scheduled
    expect(outcomes).to.deep.equal(['applied']);
    expect(applied).to.equal(1);
    expect(daemon.config.flushIntervalMs).to.equal(5000);
    expect((await reloader.reload(tomlDoc(`backends = "null"\nflush-interval = "5s"\n`))).result).to.equal('unchanged');
    expect((await reloader.reload(tomlDoc(`backends = "null"\nflush-interval = "5s"\n`), true)).result).to.equal(
      'applied',
    );
    await reloader.close();
  });
});
