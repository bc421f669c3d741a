import { expect } from 'chai';
import { validateRemoteWriteConfig } from '../../../../src/backends/prometheus-remote-write/config.js';
import { RemoteWriteBackend } from '../../../../src/backends/prometheus-remote-write/remote-write-backend.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { CountingMetrics } from '../../../support/backend-metrics.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { Tsdb } from '../../../support/tsdb.js';
import { waitFor } from '../../../support/wait-for.js';
import { testSharedSettings } from '../../../support/shared-settings.js';

const MAPPING = 'defaults:\n  observer_type: histogram\nmappings: []\n';

function backend(url: string, section: Record<string, unknown> = {}, clock = systemClock) {
  const metrics = new CountingMetrics();
  const b = new RemoteWriteBackend(
    validateRemoteWriteConfig({ url, mapping: MAPPING, ...section }, 'prometheus-remote-write', []),
    testSharedSettings(100_000),
    { name: 'prometheus-remote-write', logger: silentLogger, clock, metrics, random: () => 0.5 },
  );
  return { b, metrics };
}

/** A source whose intervals end at the real current time (stores refuse samples far in the past). */
function source() {
  const p = makePipeline({ percentThresholds: [90] });
  return (lines: string) => {
    p.clock.setNow(Date.now());
    send(p.ingester, lines);
    return p.aggregator.snapshotAndReset(Date.now(), 1);
  };
}

for (const kind of ['victoria-metrics', 'prometheus'] as const) {
  describe(`prometheus-remote-write into a real ${kind} (values read back with its query API)`, function () {
    this.timeout(90_000);
    let db: Tsdb;
    before(async function () {
      if (!Tsdb.available(kind)) {
        throw new Error(`${kind} is not installed (npm test installs it: scripts/get-peers.sh)`);
      }
      db = await Tsdb.start(kind);
    });
    after(() => db?.close());

    it('counters cumulative, gauges, sets and timers as histograms: exactly what was sent', async () => {
      const { b, metrics } = backend(db.writeUrl);
      const interval = source();
      await b.flush(
        interval(
          'rw.hits:3|c|#route:a\nrw.hits:2|c|@0.5|#route:a\nrw.depth:7.5|g\nrw.users:x|s\nrw.users:y|s\nrw.lat:20|ms\nrw.lat:400|ms',
        ),
        AbortSignal.timeout(5000),
      );
      await b.flush(interval('rw.hits:1|c|#route:a\nrw.depth:2|g\nrw.lat:3000|ms'), AbortSignal.timeout(5000));
      expect(metrics.errors).to.deep.equal([]);
      expect(await db.until('rw_hits{route="a"}', 8)).to.equal(8);
      expect(await db.until('rw_depth', 2)).to.equal(2);
      expect(await db.until('rw_users', 2)).to.equal(2);
      expect(await db.until('rw_lat_count', 3)).to.equal(3);
      expect(await db.until('rw_lat_sum', 3.42)).to.equal(3.42);
      expect(await db.until('rw_lat_bucket{le="0.025"}', 1)).to.equal(1);
      expect(await db.until('rw_lat_bucket{le="+Inf"}', 3)).to.equal(3);
      await b.shutdown();
    });

    it('timers as gostatsd sub-metrics (timers = "sub-metrics")', async () => {
      const { b } = backend(db.writeUrl, { timers: 'sub-metrics' });
      const interval = source();
      await b.flush(interval(`sub.lat:10|ms|#route:a\nsub.lat:30|ms|@0.5|#route:a`), AbortSignal.timeout(5000));
      expect(await db.until('sub_lat_count{route="a"}', 3)).to.equal(3);
      expect(await db.until('sub_lat_mean{route="a"}', 20)).to.equal(20);
      expect(await db.until('sub_lat_upper_90{route="a"}', 30)).to.equal(30);
      expect(await db.query('sub_lat_bucket')).to.equal(undefined);
      await b.shutdown();
    });

    if (kind === 'victoria-metrics') {
      it('a 20 s outage of the store loses nothing within the retry window', async () => {
        const clock = new ManualClock(Date.now());
        const { b, metrics } = backend(db.writeUrl, { counters: 'per-interval' }, clock);
        const interval = source();
        await db.stop();
        // One write retried with back-off (on the injected clock) through the outage.
        let settled = false;
        const writing = b.flush(interval('rw.outage:5|c'), AbortSignal.timeout(60_000)).finally(() => (settled = true));
        for (let s = 0; s < 20; s++) {
          await waitFor(() => clock.pendingTimers > 0);
          clock.advance(1000);
        }
        expect(metrics.errors.length).to.be.greaterThan(3);
        await db.restart();
        for (let s = 0; s < 60 && !settled; s++) {
          await waitFor(() => settled || clock.pendingTimers > 0);
          clock.advance(1000);
        }
        await writing;
        await b.flush(interval('rw.outage:5|c'), AbortSignal.timeout(10_000));
        expect(metrics.drops).to.deep.equal({});
        // Per-interval values: their sum over the hour is every count sent.
        expect(await db.until('sum_over_time(rw_outage[1h])', 10)).to.equal(10);
        await b.shutdown();
      });
    }
  });
}
