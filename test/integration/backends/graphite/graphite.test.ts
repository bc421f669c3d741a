import { expect } from 'chai';
import { validateGraphiteConfig } from '../../../../src/backends/graphite/config.js';
import { GraphiteBackend } from '../../../../src/backends/graphite/graphite-backend.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { CountingMetrics, NO_DISABLED_SUB_METRICS } from '../../../support/backend-metrics.js';
import { Carbon } from '../../../support/carbon.js';
import { makePipeline, send } from '../../../support/pipeline.js';

describe('graphite backend into a real carbon-cache (values read back from whisper)', function () {
  this.timeout(60_000);
  let carbon: Carbon;
  before(async function () {
    if (!Carbon.available()) {
      throw new Error('carbon-cache or whisper-fetch is not installed (npm test installs them: scripts/get-peers.sh)');
    }
    carbon = await Carbon.start();
  });
  after(() => carbon?.close());

  function backend(section: Record<string, unknown> = {}) {
    const metrics = new CountingMetrics();
    const b = new GraphiteBackend(
      validateGraphiteConfig({ address: `127.0.0.1:${carbon.port}`, ...section }, 'graphite', []),
      NO_DISABLED_SUB_METRICS,
      { name: 'graphite', logger: silentLogger, clock: systemClock, metrics },
    );
    return { b, metrics };
  }

  /** One interval of `lines`, flushed at the current second. */
  function interval(lines: string) {
    const p = makePipeline({ percentThresholds: [90] });
    const ts = Math.floor(Date.now() / 1000);
    p.clock.setNow(ts * 1000);
    send(p.ingester, lines);
    return { snapshot: p.aggregator.snapshotAndReset(ts * 1000, 2), ts };
  }

  it('stores what gostatsd would write, in the legacy namespace', async () => {
    const { b, metrics } = backend();
    const { snapshot, ts } = interval(
      'hits:3|c\nhits:2|c|@0.5\nlat:10|ms\nlat:30|ms\ndepth:7.25|g\nusers:a|s\nusers:b|s',
    );
    await b.flush(snapshot, AbortSignal.timeout(5000));
    expect(await carbon.waitPoint('stats_counts.hits', ts)).to.equal(7);
    expect(await carbon.waitPoint('stats.hits', ts)).to.equal(3.5);
    expect(await carbon.waitPoint('stats.timers.lat.count', ts)).to.equal(2);
    expect(await carbon.waitPoint('stats.timers.lat.mean', ts)).to.equal(20);
    expect(await carbon.waitPoint('stats.timers.lat.upper_90', ts)).to.equal(30);
    expect(await carbon.waitPoint('stats.gauges.depth', ts)).to.equal(7.25);
    expect(await carbon.waitPoint('stats.sets.users', ts)).to.equal(2);
    expect(metrics.errors).to.deep.equal([]);
    await b.shutdown();
  });

  it('with prefixes and a suffix (legacy_namespace = false)', async () => {
    const { b } = backend({ legacy_namespace: false, global_prefix: 'app', prefix_counter: 'c', global_suffix: 'v1' });
    const { snapshot, ts } = interval('orders:4|c\ntemp:1.5|g');
    await b.flush(snapshot, AbortSignal.timeout(5000));
    expect(await carbon.waitPoint('app.c.orders.count.v1', ts)).to.equal(4);
    expect(await carbon.waitPoint('app.c.orders.rate.v1', ts)).to.equal(2);
    expect(await carbon.waitPoint('app.gauges.temp.v1', ts)).to.equal(1.5);
    await b.shutdown();
  });

  it('reconnects after carbon restarts; a flush while it is down is counted, not retried forever', async () => {
    const { b, metrics } = backend({ dial_timeout: '1s' });
    const first = interval('before.restart:1|c');
    await b.flush(first.snapshot, AbortSignal.timeout(5000));
    expect(await carbon.waitPoint('stats_counts.before.restart', first.ts)).to.equal(1);
    await carbon.stop();
    const down = interval('while.down:1|c');
    let failed = false;
    await b.flush(down.snapshot, AbortSignal.timeout(5000)).catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect(metrics.drops['send_failed']).to.equal(2);
    expect(metrics.errors).to.deep.equal(['ECONNREFUSED']);
    await carbon.restart();
    const after = interval('after.restart:5|c');
    await b.flush(after.snapshot, AbortSignal.timeout(5000));
    expect(await carbon.waitPoint('stats_counts.after.restart', after.ts)).to.equal(5);
    await b.shutdown();
  });
});
