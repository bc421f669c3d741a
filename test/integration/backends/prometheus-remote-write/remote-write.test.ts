import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import type { ConfigIssue } from '../../../../src/shared/errors.js';
import { flushOutcome } from '../../../support/backend-metrics.js';
import { validateRemoteWriteConfig } from '../../../../src/backends/prometheus-remote-write/config.js';
import { RemoteWriteBackend } from '../../../../src/backends/prometheus-remote-write/remote-write-backend.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { createLogger, silentLogger } from '../../../../src/shared/logger.js';
import { CountingMetrics } from '../../../support/backend-metrics.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { Tsdb } from '../../../support/tsdb.js';
import { waitFor } from '../../../support/wait-for.js';
import { testSharedSettings } from '../../../support/shared-settings.js';

const MAPPING = 'defaults:\n  observer_type: histogram\nmappings: []\n';

/** A histogram mapping that also keeps native histograms (schema 3). */
const NATIVE_MAPPING =
  'defaults:\n  observer_type: histogram\n  histogram_options:\n    native_histogram_bucket_factor: 1.1\nmappings: []\n';

function backend(url: string, section: Record<string, unknown> = {}, clock = systemClock, logger = silentLogger) {
  const metrics = new CountingMetrics();
  const issues: ConfigIssue[] = [];
  const b = new RemoteWriteBackend(
    validateRemoteWriteConfig({ url, mapping: MAPPING, ...section }, 'prometheus-remote-write', issues),
    testSharedSettings(100_000),
    { name: 'prometheus-remote-write', logger, clock, metrics, random: () => 0.5 },
  );
  expect(issues).to.deep.equal([]);
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

    if (kind === 'prometheus') {
      it('send-native-histograms to a Prometheus without the feature: the samples are stored, the refused histograms counted and logged', async () => {
        const log = new PassThrough();
        let logged = '';
        log.on('data', (d: Buffer) => (logged += d.toString()));
        const { b, metrics } = backend(
          db.writeUrl,
          { mapping: NATIVE_MAPPING, 'send-native-histograms': true, 'max-request-elapsed-time': '0s' },
          systemClock,
          createLogger({ format: 'json', level: 'info', destination: log }),
        );
        const interval = source();
        expect(
          await flushOutcome(b.flush(interval('off.hits:4|c\noff.lat:20|ms'), AbortSignal.timeout(5000))),
        ).to.equal('remote write: 1 of 1 requests not delivered');
        expect(await db.until('off_hits', 4)).to.equal(4);
        expect(metrics.drops).to.deep.equal({ retry_expired: 1 });
        expect(metrics.errors).to.deep.equal(['HTTP_500']);
        expect(logged).to.contain('native histograms are disabled');
        await b.shutdown();
      });
    }

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

describe('prometheus-remote-write of native histograms into a real Prometheus (--enable-feature=native-histograms)', function () {
  this.timeout(90_000);
  let db: Tsdb;
  before(async function () {
    if (!Tsdb.available('prometheus')) {
      throw new Error('prometheus is not installed (npm test installs it: scripts/get-peers.sh)');
    }
    db = await Tsdb.start('prometheus', ['--enable-feature=native-histograms']);
  });
  after(() => db?.close());

  it('stores them as native histograms: count, sum and quantiles answered, no classic series', async () => {
    const { b, metrics } = backend(db.writeUrl, { mapping: NATIVE_MAPPING, 'send-native-histograms': true });
    const interval = source();
    // 1..100 ms, the last 50 sampled at 0.5 (each counts twice): 150 observations.
    const lines = (from: number, to: number, rate = ''): string[] =>
      Array.from({ length: to - from + 1 }, (_, i) => `nat.lat:${from + i}|ms${rate}|#route:a`);
    await b.flush(interval([...lines(1, 50), 'nat.hits:1|c'].join('\n')), AbortSignal.timeout(5000));
    await b.flush(interval([...lines(51, 100, '|@0.5'), 'nat.hits:1|c'].join('\n')), AbortSignal.timeout(5000));
    expect(metrics.errors).to.deep.equal([]);
    expect(metrics.drops).to.deep.equal({});
    expect(await db.until('nat_hits', 2)).to.equal(2);
    expect(await db.until('histogram_count(nat_lat{route="a"})', 150)).to.equal(150);
    // Sum in seconds: 1..50 once, 51..100 twice.
    const sum = (1275 + 2 * 3775) / 1000;
    const got = await db.query('histogram_sum(nat_lat{route="a"})');
    expect(got).to.be.closeTo(sum, 1e-9);
    // 2v − 50 observations are at most v ms (v ≥ 50): the 90th percentile (rank 135) is 92.5 ms,
    // which schema 3 answers within one bucket (a factor of 2^(1/8)).
    const q = await db.query('histogram_quantile(0.9, nat_lat{route="a"})');
    expect(q).to.be.within(0.0925 / 2 ** (1 / 8), 0.0925 * 2 ** (1 / 8));
    expect(await db.query('nat_lat_count')).to.equal(undefined);
    expect(await db.query('count(nat_lat_bucket)')).to.equal(undefined);
    await b.shutdown();
  });
});
