import { expect } from 'chai';
import type { Backend } from '../../../src/backends/backend.js';
import { Flusher } from '../../../src/flusher/flusher.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { SelfMetrics } from '../../../src/telemetry/self-metrics.js';
import { IngestStats } from '../../../src/ingest/ingest-stats.js';
import { makePipeline, send } from '../../support/pipeline.js';
import { RecordingBackend } from '../../support/recording-backend.js';

function setup(backends: readonly Backend[] | (() => readonly Backend[]), intervalMs = 1000) {
  const p = makePipeline();
  const metrics = new SelfMetrics({
    stats: new IngestStats(),
    seriesCount: () => p.aggregator.seriesCount(),
    version: 't',
  });
  const list = typeof backends === 'function' ? backends : () => backends;
  const flusher = new Flusher(
    { flushIntervalMs: intervalMs },
    { aggregator: p.aggregator, backends: list, clock: p.clock, logger: silentLogger, metrics: metrics.flusher() },
  );
  return { ...p, flusher, metrics };
}

async function flushResults(metrics: SelfMetrics): Promise<Record<string, number>> {
  const m = await metrics.backendFlushes.get();
  return Object.fromEntries(m.values.map((v) => [`${v.labels['backend']}/${v.labels['result']}`, v.value]));
}

async function gauge(metrics: SelfMetrics, name: string): Promise<Record<string, number>> {
  const m = await metrics.registry.getSingleMetric(`statsd_sepagent_${name}`)!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels['backend'] ?? ''), v.value]));
}

const counters = (b: RecordingBackend): Array<number | undefined> => b.seen.map((s) => s.counters['c']);

describe('Flusher', () => {
  it('flushes on every tick with the measured interval, one snapshot for all backends', async () => {
    const a = new RecordingBackend('a');
    const b = new RecordingBackend('b');
    const { flusher, clock, ingester, metrics } = setup([a, b]);
    await flusher.start();
    send(ingester, 'c:5|c');
    clock.advance(1000);
    await flusher.idle();
    send(ingester, 'c:2|c\nc:1|c');
    clock.advance(1000);
    await flusher.idle();
    expect(counters(a)).to.deep.equal([5, 3]);
    expect(b.seen).to.deep.equal(a.seen);
    expect(a.seen[0]!.intervalSeconds).to.equal(1);
    expect((await metrics.flushes.get()).values[0]!.value).to.equal(2);
    await flusher.shutdown();
  });

  it('runs afterFlush once per flush, when every backend is done with it', async () => {
    const a = new RecordingBackend('a');
    const p = makePipeline();
    const seenAtAfterFlush: number[] = [];
    const flusher = new Flusher(
      { flushIntervalMs: 1000 },
      {
        aggregator: p.aggregator,
        backends: () => [a],
        clock: p.clock,
        logger: silentLogger,
        afterFlush: () => seenAtAfterFlush.push(a.seen.length),
      },
    );
    await flusher.start();
    send(p.ingester, 'c:5|c');
    p.clock.advance(1000);
    await flusher.idle();
    p.clock.advance(1000);
    await flusher.idle();
    expect(seenAtAfterFlush).to.deep.equal([1, 2]);
    await flusher.shutdown();
  });

  it('a flush-interval change keeps the schedule: next tick at the earlier of the old and new deadlines', async () => {
    const a = new RecordingBackend('a');
    const { flusher, clock, ingester } = setup([a], 2000);
    await flusher.start();
    const flushed = async (): Promise<number> => {
      await flusher.idle();
      return a.seen.length;
    };
    send(ingester, 'c:1|c');
    clock.advance(1500);
    // 2 s → 3 s, 1.5 s after the last tick: the old deadline (0.5 s away) is the earlier.
    flusher.setInterval(3000);
    clock.advance(499);
    expect(await flushed()).to.equal(0);
    clock.advance(1);
    expect(await flushed()).to.equal(1);
    // Then every 3 s. 3 s → 2 s after 1 s: the new deadline (1 s away) is the earlier.
    clock.advance(1000);
    flusher.setInterval(2000);
    clock.advance(999);
    expect(await flushed()).to.equal(1);
    clock.advance(1);
    expect(await flushed()).to.equal(2);
    // 2 s → 1 s when 1.5 s have passed since the last tick: the new deadline has passed, tick at once.
    clock.advance(1500);
    flusher.setInterval(1000);
    clock.advance(0);
    expect(await flushed()).to.equal(3);
    clock.advance(1000);
    expect(await flushed()).to.equal(4);
    await flusher.shutdown();
  });

  it('flipping the interval 2 s ↔ 3 s every 1.5 s still flushes every 2 s or sooner', async () => {
    const a = new RecordingBackend('a');
    const { flusher, clock } = setup([a], 2000);
    await flusher.start();
    for (let i = 0; i < 10; i++) {
      clock.advance(1500);
      await flusher.idle();
      flusher.setInterval(i % 2 === 0 ? 3000 : 2000);
    }
    // 15 s: the schedule never moved later than the old deadline, so at least 7 ticks.
    expect(a.seen.length).to.be.at.least(7);
    await flusher.shutdown();
  });

  it('a tick that finds every backend still busy takes no cut: the data goes out later, whole', async () => {
    const slow = new RecordingBackend('slow');
    slow.mode = 'gate';
    const { flusher, clock, ingester, metrics } = setup([slow]);
    await flusher.start();
    send(ingester, 'c:1|c');
    clock.advance(1000); // tick 1: delivered, the backend holds on past its deadline
    await slow.called(1);
    for (const v of [2, 3, 4, 5]) {
      send(ingester, `c:${v}|c`);
      clock.advance(1000); // ticks 2-5: no cut, the counts stay in the aggregator
      await new Promise((r) => setImmediate(r));
    }
    expect(slow.calls).to.equal(1);
    expect(flusher.heldSnapshots).to.equal(1);
    slow.open();
    await new Promise((r) => setImmediate(r)); // the lane is free once the backend settles
    expect(flusher.heldSnapshots).to.equal(0);
    send(ingester, 'c:6|c');
    clock.advance(1000); // tick 6: cuts what ticks 2-6 left
    await flusher.idle();
    expect(counters(slow)).to.deep.equal([1, 20]);
    expect(slow.seen.map((s) => s.intervalSeconds)).to.deep.equal([1, 5]);
    const deferred = async (): Promise<number> =>
      (await metrics.registry.getSingleMetric('statsd_sepagent_flush_ticks_deferred_total')!.get()).values[0]!.value;
    expect(await deferred()).to.equal(4);
    expect(await flushResults(metrics)).to.deep.equal({ 'slow/timeout': 1, 'slow/success': 1 });
    await flusher.shutdown();
  });

  it('one free backend is enough for a tick to cut', async () => {
    const slow = new RecordingBackend('slow');
    slow.mode = 'gate';
    const fast = new RecordingBackend('fast');
    const { flusher, clock, ingester, metrics } = setup([slow, fast]);
    await flusher.start();
    for (const v of [1, 2, 3]) {
      send(ingester, `c:${v}|c`);
      clock.advance(1000);
      await fast.called(v);
      await new Promise((r) => setImmediate(r)); // the fast one settles; the slow one holds on
    }
    expect(counters(fast)).to.deep.equal([1, 2, 3]);
    expect(slow.calls).to.equal(1);
    expect(
      (await metrics.registry.getSingleMetric('statsd_sepagent_flush_ticks_deferred_total')!.get()).values[0]!.value,
    ).to.equal(0);
    slow.open();
    await flusher.shutdown();
  });

  it('a backend that never settles is not waited for without end: every eleventh tick cuts', async () => {
    const hang = new RecordingBackend('hang');
    hang.mode = 'hang';
    const { flusher, clock, ingester, metrics } = setup([hang]);
    await flusher.start();
    for (let tick = 1; tick <= 23; tick++) {
      send(ingester, 'c:1|c');
      clock.advance(1000);
      await new Promise((r) => setImmediate(r));
    }
    // Tick 1 delivered; 2-11 deferred; 12 cut (waits); 13-22 deferred; 23 cut (replaces it).
    expect(hang.calls).to.equal(1);
    expect(
      (await metrics.registry.getSingleMetric('statsd_sepagent_flush_ticks_deferred_total')!.get()).values[0]!.value,
    ).to.equal(20);
    expect(await flushResults(metrics)).to.deep.equal({ 'hang/timeout': 1, 'hang/skipped': 1 });
    expect(flusher.heldSnapshots).to.be.at.most(2);
  });

  it('a failing backend does not stop the others, and is counted', async () => {
    const bad = new RecordingBackend('bad');
    bad.mode = 'fail';
    const good = new RecordingBackend('good');
    const { flusher, metrics } = setup([bad, good]);
    await flusher.flushNow();
    expect(good.seen).to.have.length(1);
    expect(await flushResults(metrics)).to.deep.equal({ 'bad/failure': 1, 'good/success': 1 });
  });

  it('a hanging backend times out at the flush interval (injected clock) without delaying the others', async () => {
    const hang = new RecordingBackend('hang');
    hang.mode = 'hang';
    const good = new RecordingBackend('good');
    const { flusher, clock, metrics } = setup([hang, good], 50);
    const flushed = flusher.flushNow();
    await hang.called(1);
    expect(good.seen).to.have.length(1);
    clock.advance(50);
    await flushed;
    expect(await flushResults(metrics)).to.deep.equal({ 'hang/timeout': 1, 'good/success': 1 });
  });

  describe('snapshot ownership', () => {
    it('a backend retired by a reload while its flush runs reads its own interval, not the next one', async () => {
      const old = new RecordingBackend('old');
      old.mode = 'gate';
      const next = new RecordingBackend('next');
      let list: Backend[] = [old];
      const { flusher, ingester } = setup(() => list);
      send(ingester, 'c:1|c\nt:1|ms\ng:1|g\ns:a|s');
      const first = flusher.flushNow();
      await old.called(1);
      list = [next]; // the reload swaps the backend set between two cuts
      send(ingester, 'c:5|c\nt:5|ms\ng:5|g\ns:b|s');
      await flusher.flushNow();
      old.open(); // only now does the retired backend read its snapshot
      await first;
      expect(old.seen).to.deep.equal([
        { intervalSeconds: 1e-3, counters: { c: 1 }, gauges: { g: 1 }, timers: { t: [1, 1, [1]] }, sets: { s: ['a'] } },
      ]);
      expect(next.seen[0]!.counters).to.deep.equal({ c: 5 });
      expect(next.seen[0]!.timers).to.deep.equal({ t: [1, 5, [5]] });
    });

    it('a backend that goes on after its deadline reads its own interval, then gets the next one', async () => {
      const slow = new RecordingBackend('slow');
      slow.mode = 'gate';
      const { flusher, ingester, clock, metrics } = setup([slow]);
      send(ingester, 'c:1|c');
      const first = flusher.flushNow();
      await slow.called(1);
      clock.advance(1000); // the deadline passes; the backend ignores it and goes on
      await first;
      send(ingester, 'c:1|c\nc:4|c');
      const second = flusher.flushNow();
      clock.advance(1000); // past the grace: counted as overdue
      await new Promise((r) => setImmediate(r));
      const overdue = await gauge(metrics, 'backend_overdue_flushes');
      const callsBeforeOpen = slow.calls;
      slow.open();
      await second;
      expect(counters(slow)).to.deep.equal([1, 5]);
      expect(callsBeforeOpen).to.equal(1); // never two flushes of one backend at once
      expect(overdue).to.deep.equal({ slow: 1 });
      expect(await gauge(metrics, 'backend_overdue_flushes')).to.deep.equal({ slow: 0 });
      expect(await flushResults(metrics)).to.deep.equal({ 'slow/timeout': 1, 'slow/success': 1 });
      expect(flusher.heldSnapshots).to.equal(0);
    });

    it('reuses the previous snapshot only once every holder has settled', async () => {
      const slow = new RecordingBackend('slow');
      slow.mode = 'gate';
      const fast = new RecordingBackend('fast');
      const { flusher, ingester, clock, metrics } = setup([slow, fast]);
      send(ingester, 'c:1|c');
      const first = flusher.flushNow();
      await slow.called(1);
      expect(flusher.heldSnapshots).to.equal(1);
      send(ingester, 'c:2|c');
      const second = flusher.flushNow(); // built fresh: the first is still held
      await fast.called(2);
      expect(
        (await metrics.registry.getSingleMetric('statsd_sepagent_snapshots_fresh_total')!.get()).values[0]!.value,
      ).to.equal(1);
      slow.open();
      clock.advance(1000);
      await Promise.all([first, second]);
      expect(flusher.heldSnapshots).to.equal(0);
      send(ingester, 'c:3|c');
      await flusher.flushNow(); // nothing held: refreshed in place
      expect(
        (await metrics.registry.getSingleMetric('statsd_sepagent_snapshots_fresh_total')!.get()).values[0]!.value,
      ).to.equal(1);
      expect(counters(slow)).to.deep.equal([1, 2, 3]);
      expect(counters(fast)).to.deep.equal([1, 2, 3]);
    });

    it('a backend that never settles pins at most two snapshots, however many intervals pass', async () => {
      const hang = new RecordingBackend('hang');
      hang.mode = 'hang';
      const good = new RecordingBackend('good');
      const { flusher, ingester, clock, metrics } = setup([hang, good]);
      for (let i = 1; i <= 10; i++) {
        send(ingester, `c:${i}|c`);
        void flusher.flushNow();
        await good.called(i);
        clock.advance(1000);
        await new Promise((r) => setImmediate(r));
        // the hanging delivery and at most one waiting interval
        expect(flusher.heldSnapshots).to.be.at.most(2);
      }
      expect(hang.calls).to.equal(1);
      expect(counters(good)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await flushResults(metrics)).to.deep.include({ 'hang/timeout': 1, 'hang/skipped': 8, 'good/success': 10 });
      expect(await gauge(metrics, 'backend_overdue_flushes')).to.deep.equal({ hang: 1 });
    });
  });

  describe('busy policy', () => {
    async function busyRun(policy: 'latest' | 'coalesce'): Promise<{ b: RecordingBackend; metrics: SelfMetrics }> {
      const b = new RecordingBackend('b', policy);
      b.mode = 'gate';
      const { flusher, ingester, metrics } = setup([b]);
      send(ingester, 'c:1|c\ng:1|g\nt:1|ms\ns:a|s');
      const flushes = [flusher.flushNow()];
      await b.called(1);
      send(ingester, 'c:2|c\ng:2|g\nt:2|ms\ns:b|s');
      flushes.push(flusher.flushNow());
      await new Promise((r) => setImmediate(r));
      send(ingester, 'c:3|c\ng:3|g\nt:3|ms|@0.5\ns:a|s\nonly3:1|c');
      flushes.push(flusher.flushNow());
      await flushes[1]; // settled as skipped or merged
      b.open();
      await Promise.all(flushes);
      return { b, metrics };
    }

    it('latest: a busy backend gets the newest interval; the one that waited is skipped and counted', async () => {
      const { b, metrics } = await busyRun('latest');
      expect(counters(b)).to.deep.equal([1, 3]);
      expect(await flushResults(metrics)).to.deep.equal({ 'b/success': 2, 'b/skipped': 1 });
    });

    it('coalesce: waiting intervals are merged (counters add, gauges last, timers concatenate, sets union)', async () => {
      const { b, metrics } = await busyRun('coalesce');
      expect(counters(b)).to.deep.equal([1, 5]);
      const merged = b.seen[1]!;
      expect(merged.counters).to.deep.equal({ c: 5, only3: 1 });
      expect(merged.gauges).to.deep.equal({ g: 3 });
      expect(merged.timers).to.deep.equal({ t: [3, 5, [2, 3]] }); // count 1 + 1/0.5
      expect(merged.sets).to.deep.equal({ s: ['a', 'b'] });
      expect(merged.intervalSeconds).to.be.closeTo(2e-3, 1e-9);
      expect(await flushResults(metrics)).to.deep.equal({ 'b/success': 2, 'b/merged': 1 });
    });
  });

  it('shutdown delivers the final snapshot to a healthy backend at once, even while another hangs', async () => {
    const hang = new RecordingBackend('hang');
    hang.mode = 'hang';
    const good = new RecordingBackend('good');
    const { flusher, ingester, clock } = setup([hang, good], 60_000);
    send(ingester, 'c:1|c');
    void flusher.flushNow(); // hang is now busy for up to a minute
    await good.called(1);
    send(ingester, 'c:2|c');
    const deadline = new AbortController();
    const done = flusher.shutdown(deadline.signal);
    await good.called(2);
    expect(counters(good)).to.deep.equal([1, 2]);
    deadline.abort(); // the shutdown deadline: the hanging backend is given up
    await done;
    void clock;
  });

  it('runs a final flush on shutdown, and shutdown is safe twice and without start', async () => {
    const a = new RecordingBackend('a');
    const { flusher, ingester } = setup([a]);
    send(ingester, 'c:7|c');
    await flusher.shutdown();
    await flusher.shutdown();
    expect(counters(a)).to.deep.equal([7]);
  });
});
