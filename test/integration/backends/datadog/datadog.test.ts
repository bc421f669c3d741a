import { expect } from 'chai';
import { validateDatadogConfig } from '../../../../src/backends/datadog/config.js';
import { DatadogBackend } from '../../../../src/backends/datadog/datadog-backend.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { CountingMetrics } from '../../../support/backend-metrics.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { Tsdb } from '../../../support/tsdb.js';

describe('datadog backend into a real VictoriaMetrics (its Datadog series API), values read back', function () {
  this.timeout(60_000);
  let vm: Tsdb;
  before(async function () {
    if (!Tsdb.available('victoria-metrics')) {
      throw new Error('victoria-metrics is not installed (npm test installs it: scripts/get-peers.sh)');
    }
    vm = await Tsdb.start('victoria-metrics');
  });
  after(() => vm?.close());

  for (const compress of [true, false]) {
    it(`counters as rate and .count, timers as sub-metrics, gauges, sets, host and tags (compress_payload = ${compress})`, async () => {
      const metrics = new CountingMetrics();
      const b = new DatadogBackend(
        validateDatadogConfig(
          {
            api_key: 'abc123',
            api_endpoint: `http://127.0.0.1:${vm.port}/datadog`,
            compress_payload: compress,
            metrics_per_batch: 5,
          },
          'datadog',
          [],
        ),
        { name: 'datadog', logger: silentLogger, clock: systemClock, metrics },
      );
      const p = makePipeline({ percentThresholds: [90] });
      p.clock.setNow(Date.now());
      const m = compress ? 'dd1' : 'dd2';
      send(
        p.ingester,
        `${m}.hits:3|c|#route:a\n${m}.hits:2|c|@0.5|#route:a\n${m}.lat:10|ms\n${m}.lat:30|ms\n${m}.depth:7.5|g\n${m}.users:x|s\n${m}.users:y|s`,
      );
      await b.flush(p.aggregator.snapshotAndReset(Date.now(), 2), AbortSignal.timeout(30_000));
      expect(metrics.errors).to.deep.equal([]);
      expect(metrics.requests).to.be.greaterThan(2); // batches of 5 series
      // The names as sent (dots kept); the host and the tags become labels.
      const q = (name: string, labels = ''): string => `{__name__="${m}.${name}"${labels}}`;
      expect(await vm.until(q('hits.count', ',route="a",host="10.0.0.5"'), 7)).to.equal(7);
      expect(await vm.until(q('hits', ',route="a"'), 3.5)).to.equal(3.5);
      expect(await vm.until(q('lat.count'), 2)).to.equal(2);
      expect(await vm.until(q('lat.count_ps'), 1)).to.equal(1);
      expect(await vm.until(q('lat.mean'), 20)).to.equal(20);
      expect(await vm.until(q('lat.upper_90'), 30)).to.equal(30);
      expect(await vm.until(q('depth'), 7.5)).to.equal(7.5);
      expect(await vm.until(q('users'), 2)).to.equal(2);
      await b.shutdown();
    });
  }
});
