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

  it('a hanging backend never holds back the others; its waiting snapshot is replaced by a newer one and counted', async () => {
    const hang = new RecordingBackend('hang');
    hang.mode = 'hang';
    const good = new RecordingBackend('good');
    const { flusher, clock, ingester, metrics } = setup([hang, good], 1000); // real-time deadline 1 s
    await flusher.start();
    for (let i = 1; i <= 3; i++) {
      send(ingester, `c:${i}|c`);
      clock.advance(1000);
      await waitFor(() => good.snapshots.length === i);
    }
    // hang: busy with interval 1; interval 2 waited and was replaced by interval 3.
    expect(good.snapshots.map((s) => s.counters[0]!.value)).to.deep.equal([1, 2, 3]);
    hang.mode = 'ok';
    await waitFor(() => hang.snapshots.length === 2, 2000);
    expect(hang.snapshots.map((s) => s.counters[0]!.value)).to.deep.equal([1, 3]);
    // The snapshot the hanging backend held was not touched by the later flushes.
    expect(good.snapshots[0]!.counters[0]!.value).to.equal(1);
    expect(await flushResults(metrics)).to.deep.include({ 'hang/skipped': 1, 'hang/timeout': 1, 'good/success': 3 });
    await flusher.shutdown();
  });

  it('shutdown delivers the final snapshot to a healthy backend at once, even while another hangs', async () => {
    const hang = new RecordingBackend('hang');
    hang.mode = 'hang';
    const good = new RecordingBackend('good');
    const { flusher, ingester } = setup([hang, good], 60_000);
    send(ingester, 'c:1|c');
    void flusher.flushNow(); // hang is now busy for up to a minute
    await waitFor(() => good.snapshots.length === 1);
    send(ingester, 'c:2|c');
    const t0 = Date.now();
    await flusher.shutdown(AbortSignal.timeout(300));
    await waitFor(() => good.snapshots.length === 2, 1000);
    expect(good.snapshots[1]!.counters[0]!.value).to.equal(2);
    expect(Date.now() - t0).to.be.lessThan(5000);
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
