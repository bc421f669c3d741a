import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Ingestion, post, startIngestion } from '../../../support/gostatsd-wire.js';
import { makePipeline, plainSnapshot, send } from '../../../support/pipeline.js';

const DIR = 'test/fixtures/gostatsd-forwarder';

/** A case's recorded requests, in the order the reference sent them. */
function requests(name: string): Array<{ path: string; headers: Record<string, string>; body: Buffer }> {
  return readdirSync(DIR)
    .filter((f) => f.startsWith(`${name}.`) && f.endsWith('.body'))
    .sort((a, b) => Number(/\.(\d+)\.body$/.exec(a)![1]) - Number(/\.(\d+)\.body$/.exec(b)![1]))
    .map((f) => {
      const meta = JSON.parse(readFileSync(join(DIR, f.replace(/\.body$/, '.request.json')), 'utf8')) as {
        path: string;
        headers: Record<string, string>;
      };
      return { ...meta, body: readFileSync(join(DIR, f)) };
    });
}

/** Replays a case's requests to our `/v2/raw` and `/v2/event`, as the reference's forwarder sent them. */
async function replay(r: Ingestion, name: string): Promise<void> {
  for (const req of requests(name)) {
    const res = await post(r.port, req.path, req.body, req.headers);
    expect(res.status, `${name} ${req.path}: ${res.body}`).to.equal(202);
  }
}

describe("gostatsd's forwarder, recorded: its requests merged by our /v2/raw (golden)", () => {
  let r: Ingestion;
  afterEach(() => r.receiver.shutdown());

  it('counters: the interval the reference forwarded is the one we aggregate from the same lines', async () => {
    r = await startIngestion();
    await replay(r, 'counters');
    const forwarded = r.p.aggregator.snapshotAndReset(r.p.clock.now(), 2);
    expect(forwarded.counters.map((c) => [c.name, c.tagsKey, c.value]).sort()).to.deep.equal([
      ['envoy.cluster.external_cluster_sep1.upstream_rq_2xx', 'k8s,zone:a,s:127.0.0.1', 7],
      ['envoy.cluster.external_cluster_sep1.upstream_rq_total', ',s:127.0.0.1', 7],
    ]);
    // The same lines received directly make the same interval, to the per-second rates.
    const local = makePipeline({ percentThresholds: [90] });
    send(local.ingester, readFileSync(join(DIR, 'counters.lines'), 'utf8').trim(), '127.0.0.1');
    const direct = local.aggregator.snapshotAndReset(local.clock.now(), 2);
    expect(rows(forwarded)).to.deep.equal(rows(direct));
  });

  it('mixed: counters add, the gauge takes the forwarded value, timer values and sampled count, set members', async () => {
    r = await startIngestion();
    await replay(r, 'mixed');
    const s = r.p.aggregator.snapshotAndReset(r.p.clock.now(), 2);
    expect(s.counters.map((c) => [c.name, c.tagsKey, c.value])).to.deep.equal([
      ['svc.requests', 'env:prod,s:127.0.0.1', 2],
    ]);
    // Two gauge values in one datagram: the reference forwarded the first.
    expect(s.gauges.map((g) => [g.name, g.value])).to.deep.equal([['svc.queue', 4]]);
    expect(s.timers.map((t) => [t.name, [...t.values].sort((a, b) => a - b), t.sampledCount])).to.deep.equal([
      ['svc.latency', [7.25, 12, 30], 4],
    ]);
    expect(s.sets.map((x) => [x.name, x.tagsKey, [...x.members].sort()])).to.deep.equal([
      ['svc.users', ',s:127.0.0.1', ['alice', 'bob']],
      ['svc.users', 'env:prod,s:127.0.0.1', ['alice']],
    ]);
    // The same interval merged twice (a retried request) counts twice, as in the reference.
    await replay(r, 'mixed');
    await replay(r, 'mixed');
    const twice = r.p.aggregator.snapshotAndReset(r.p.clock.now(), 2);
    expect(twice.counters[0]!.value).to.equal(2 + 2);
  });

  it('events: both /v2/event requests become events with the reference’s fields; its empty /v2/raw merges nothing', async () => {
    r = await startIngestion();
    await replay(r, 'events');
    expect(r.p.events.map((e) => [e.title, e.text, e.priority, e.alertType, e.sourceTypeName])).to.deep.equal([
      ['title', 'text', 'normal', 'info', ''],
      ['deploy', 'new version', 'low', 'warning', 'ci'],
    ]);
    expect(r.p.aggregator.liveSeries).to.equal(0);
    expect(r.p.stats.httpIngest('main').accepted).to.equal(3);
  });
});

/** A snapshot's series as sorted rows (the forwarded map's order is not the lines'), its time left out. */
function rows(s: Parameters<typeof plainSnapshot>[0]): string[] {
  const p = plainSnapshot(s) as Record<string, unknown[]>;
  return ['counters', 'gauges', 'timers', 'sets']
    .flatMap((k) => p[k]!.map((row) => `${k} ${JSON.stringify(row)}`))
    .sort();
}
