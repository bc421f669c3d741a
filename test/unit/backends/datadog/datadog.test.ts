import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDatadogConfig } from '../../../../src/backends/datadog/config.js';
import {
  datadogSeries,
  eventPayload,
  seriesPayload,
  serviceCheckPayload,
} from '../../../../src/backends/datadog/format.js';
import { EnvoyTagExtractor } from '../../../../src/shared/envoy-tags.js';
import type { ConfigIssue } from '../../../../src/shared/errors.js';
import { makePipeline, send } from '../../../support/pipeline.js';

describe('datadog backend: what it writes, and where its key comes from', () => {
  it('writes the series JSON of gostatsd for one counter, timer, gauge and set', () => {
    const p = makePipeline({ percentThresholds: [90] });
    send(p.ingester, 'api.requests:3|c|#route:login\nlat:5|ms\ng:-1.5|g\ns:a|s');
    const json = seriesPayload(datadogSeries(p.aggregator.snapshotAndReset(1_556_100_400_000, 10)));
    const h = '"host":"10.0.0.5","interval":10';
    expect(json).to.equal(
      '{"series":[' +
        [
          `{${h},"metric":"api.requests","points":[[1556100400,0.3]],"tags":["route:login"],"type":"rate"}`,
          `{${h},"metric":"api.requests.count","points":[[1556100400,3]],"tags":["route:login"],"type":"gauge"}`,
          `{${h},"metric":"lat.lower","points":[[1556100400,5]],"type":"gauge"}`,
          `{${h},"metric":"lat.upper","points":[[1556100400,5]],"type":"gauge"}`,
          `{${h},"metric":"lat.count","points":[[1556100400,1]],"type":"gauge"}`,
          `{${h},"metric":"lat.count_ps","points":[[1556100400,0.1]],"type":"rate"}`,
          `{${h},"metric":"lat.mean","points":[[1556100400,5]],"type":"gauge"}`,
          `{${h},"metric":"lat.median","points":[[1556100400,5]],"type":"gauge"}`,
          `{${h},"metric":"lat.std","points":[[1556100400,0]],"type":"gauge"}`,
          `{${h},"metric":"lat.sum","points":[[1556100400,5]],"type":"gauge"}`,
          `{${h},"metric":"lat.sum_squares","points":[[1556100400,25]],"type":"gauge"}`,
          `{${h},"metric":"lat.count_90","points":[[1556100400,1]],"type":"gauge"}`,
          `{${h},"metric":"lat.mean_90","points":[[1556100400,5]],"type":"gauge"}`,
          `{${h},"metric":"lat.sum_90","points":[[1556100400,5]],"type":"gauge"}`,
          `{${h},"metric":"lat.sum_squares_90","points":[[1556100400,25]],"type":"gauge"}`,
          `{${h},"metric":"lat.upper_90","points":[[1556100400,5]],"type":"gauge"}`,
          `{${h},"metric":"g","points":[[1556100400,-1.5]],"type":"gauge"}`,
          `{${h},"metric":"s","points":[[1556100400,1]],"type":"gauge"}`,
        ].join(',') +
        ']}',
    );
  });

  it("writes events with gostatsd's fields", () => {
    expect(
      eventPayload({
        title: 'deploy',
        text: 'v2',
        dateHappened: 5,
        hostname: 'h',
        aggregationKey: '',
        priority: 'low',
        sourceTypeName: '',
        alertType: 'error',
        tags: ['a:b'],
      }),
    ).to.equal(
      '{"title":"deploy","text":"v2","date_happened":5,"host":"h","tags":["a:b"],"priority":"low","alert_type":"error"}',
    );
  });

  it('writes service checks as the check_run API takes them', () => {
    expect(
      serviceCheckPayload({
        name: 'redis.up',
        status: 2,
        timestamp: 1700000000,
        hostname: 'db1',
        message: 'timeout|retrying',
        tags: ['env:prod'],
      }),
    ).to.equal(
      '{"check":"redis.up","host_name":"db1","status":2,"timestamp":1700000000,"message":"timeout|retrying","tags":["env:prod"]}',
    );
  });

  it('takes Envoy segments out as tags with envoy-tag-extraction', () => {
    const p = makePipeline();
    send(p.ingester, 'envoy.cluster.backend.upstream_rq_200:4|c|#env:prod');
    const [rate] = datadogSeries(p.aggregator.snapshotAndReset(1556100410_000, 10), new EnvoyTagExtractor('envoy'));
    expect(JSON.parse(rate!)).to.deep.include({
      metric: 'envoy.cluster.upstream_rq',
      tags: ['env:prod', 'envoy.response_code:200', 'envoy.cluster_name:backend'],
    });
  });

  it('takes the key from the section, a file or DD_API_KEY; a missing or bad key names api_key, never its value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-'));
    try {
      writeFileSync(join(dir, 'key'), 'fromfile123\n');
      const read = (section: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
        const issues: ConfigIssue[] = [];
        const c = validateDatadogConfig(section, 'datadog', issues, env);
        return { key: c.apiKey, errors: issues.filter((i) => i.severity === 'error') };
      };
      expect(read({ api_key: 'inline1' }).key).to.equal('inline1');
      expect(read({ api_key_file: join(dir, 'key') }).key).to.equal('fromfile123');
      expect(read({}, { DD_API_KEY: 'fromenv9' }).key).to.equal('fromenv9');
      expect(read({}).errors.map((e) => e.path)).to.deep.equal(['datadog.api_key']);
      const bad = read({ api_key: 'sec ret"key' });
      expect(bad.errors.map((e) => e.path)).to.deep.equal(['datadog.api_key']);
      expect(JSON.stringify(bad.errors)).to.not.contain('sec ret');
      expect(read({ api_key_file: join(dir, 'missing') }).errors.map((e) => e.path)).to.deep.equal([
        'datadog.api_key_file',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
