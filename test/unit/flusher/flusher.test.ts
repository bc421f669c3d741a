import { expect } from 'chai';
import { Flusher } from '../../../src/flusher/flusher.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { SelfMetrics } from '../../../src/telemetry/self-metrics.js';
import { IngestStats } from '../../../src/ingest/ingest-stats.js';
import { makePipeline, send } from '../../support/pipeline.js';
import { RecordingBackend } from '../../support/recording-backend.js';
import { waitFor } from '../../support/wait-for.js';

function setup(backends: RecordingBackend[], intervalMs = 1000) {
  const p = makePipeline();
  const metrics = new SelfMetrics({
    stats: new IngestStats(),
    seriesCount: () => p.aggregator.seriesCount(),
    version: 't',
  });
  const flusher = new Flusher(
    { flushIntervalMs: intervalMs },
    { aggregator: p.aggregator, backends: () => backends, clock: p.clock, logger: silentLogger, metrics },
  );
  return { ...p, flusher, metrics };
}

async function flushResults(metrics: SelfMetrics): Promise<Record<string, number>> {
  const m = await metrics.backendFlushes.get();
  return Object.fromEntries(m.values.map((v) => [`${v.labels['backend']}/${v.labels['result']}`, v.value]));
}

async function flushCount(metrics: SelfMetrics): Promise<number> {
  return (await metrics.flushes.get()).values[0]?.value ?? 0;
}

describe('Flusher', () => {
  it('flushes on every tick with the measured interval and one snapshot shared by all backends', async () => {
    const a = new RecordingBackend('a');
    const b = new RecordingBackend('b');
    const { flusher, clock, ingester, metrics } = setup([a, b]);
    await flusher.start();
    send(ingester, 'c:5|c');
    clock.advance(1000);
    await waitFor(() => flushCount(metrics).then((n) => n === 1));
    expect(b.snapshots).to.have.length(1);
    expect(a.snapshots[0]).to.equal(b.snapshots[0]);
    expect(a.snapshots[0]!.intervalSeconds).to.equal(1);
    expect(a.snapshots[0]!.counters[0]!.value).to.equal(5);
    clock.advance(1000);
    await waitFor(() => a.snapshots.length === 2);
    expect(a.snapshots[1]!.counters[0]!.value).to.equal(0);
    await flusher.shutdown();
  });

  it('a failing backend does not stop the others, and is counted', async () => {
    const bad = new RecordingBackend('bad');
    bad.mode = 'fail';
    const good = new RecordingBackend('good');
    const { flusher, metrics } = setup([bad, good]);
    await flusher.flushNow();
    expect(good.snapshots).to.have.length(1);
    expect(await flushResults(metrics)).to.deep.equal({ 'bad/failure': 1, 'good/success': 1 });
  });

  it('a hanging backend times out at the flush interval without delaying the others', async () => {
    const hang = new RecordingBackend('hang');
    hang.mode = 'hang';
    const good = new RecordingBackend('good');
    const { flusher, metrics } = setup([hang, good], 50);
    const t0 = Date.now();
    await flusher.flushNow();
    expect(Date.now() - t0).to.be.lessThan(1000);
    expect(good.snapshots).to.have.length(1);
    expect(await flushResults(metrics)).to.deep.equal({ 'hang/timeout': 1, 'good/success': 1 });
  });

  it('skips a tick while a flush is still running, and the next flush carries the data', async () => {
    const slow = new RecordingBackend('slow');
    slow.mode = 'hang';
    const { flusher, clock, ingester } = setup([slow], 1000);
    await flusher.start();
    send(ingester, 'c:1|c');
    clock.advance(1000); // flush 1 starts and hangs (real-time deadline 1 s)
    await waitFor(() => slow.snapshots.length === 1);
    send(ingester, 'c:2|c');
    clock.advance(1000); // skipped: flush 1 still running
    expect(slow.snapshots).to.have.length(1);
    slow.mode = 'ok';
    await flusher.flushNow(); // joins the running (hanging) flush until its deadline
    await flusher.flushNow(); // a new flush
    expect(slow.snapshots).to.have.length(2);
    const last = slow.snapshots[1]!;
    expect(last.counters[0]!.value).to.equal(2);
    expect(last.intervalSeconds).to.equal(1);
    await flusher.shutdown();
  });

  it('runs a final flush on shutdown, and shutdown is safe twice and without start', async () => {
    const a = new RecordingBackend('a');
    const { flusher, ingester } = setup([a]);
    send(ingester, 'c:7|c');
    await flusher.shutdown();
    await flusher.shutdown();
    expect(a.snapshots).to.have.length(1);
    expect(a.snapshots[0]!.counters[0]!.value).to.equal(7);
  });
});
