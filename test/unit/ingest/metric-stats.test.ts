import { expect } from 'chai';
import fc from 'fast-check';
import { Distinct, MetricStats, TopK } from '../../../src/ingest/metric-stats.js';
import { RecentRejects } from '../../../src/ingest/observe.js';
import { redactSecrets } from '../../../src/telemetry/status-page.js';

describe('TopK (Space-Saving heavy hitters)', () => {
  it('holds at most its capacity, and every held count is within its error of the truth', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 2000 }),
        fc.integer({ min: 1, max: 20 }),
        (stream, capacity) => {
          const k = new TopK(capacity, () => undefined);
          const truth = new Map<number, number>();
          for (const x of stream) {
            k.add(`m${x}`, 1);
            truth.set(x, (truth.get(x) ?? 0) + 1);
          }
          const held = k.entries();
          expect(held.length).to.be.at.most(capacity);
          for (const e of held) {
            const t = truth.get(Number(e.key.slice(1)))!;
            expect(e.count).to.be.at.least(t);
            expect(e.count - e.error).to.be.at.most(t);
          }
          // Every key above total / capacity is held.
          for (const [x, t] of truth)
            if (t > stream.length / capacity)
              expect(
                held.some((e) => e.key === `m${x}`),
                `m${x}`,
              ).to.equal(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives a new key the evicted one’s count as its error, and a fresh payload', () => {
    const k = new TopK(2, () => ({ seen: 0 }));
    k.add('a', 5).seen++;
    k.add('b', 2);
    const p = k.add('c', 1);
    expect(p.seen).to.equal(0);
    expect(k.entries().map((e) => [e.key, e.count, e.error])).to.deep.equal([
      ['a', 5, 0],
      ['c', 3, 2],
    ]);
  });
});

describe('Distinct (KMV distinct-value estimate)', () => {
  it('is exact below k values, duplicates ignored', () => {
    const d = new Distinct(32);
    for (let i = 0; i < 20; i++) for (let r = 0; r < 3; r++) d.add(`v${i}`);
    expect(d.estimate()).to.equal(20);
  });

  it('estimates large counts within 4 standard errors (1/sqrt(k-2)), and merges as a union', () => {
    for (const n of [1_000, 50_000]) {
      const a = new Distinct(64);
      const b = new Distinct(64);
      for (let i = 0; i < n; i++) (i % 2 === 0 ? a : b).add(`user-${i}`);
      a.merge(b);
      const rel = Math.abs(a.estimate() - n) / n;
      expect(rel, `n=${n}: ${a.estimate()}`).to.be.below(4 / Math.sqrt(62));
    }
  });
});

describe('MetricStats', () => {
  it('ranks names by samples, by new series with their tag keys, and by samples refused at the cap', () => {
    const s = new MetricStats(0, { windowMs: 60_000 });
    for (let i = 0; i < 500; i++) s.newSeries('http.requests', [`path:/p${i}`, 'method:GET', 'bare'], 1);
    s.newSeries('cpu', ['host:a'], 1);
    s.samples('cpu', 900, 2);
    s.samples('http.requests', 500, 2);
    s.capped('http.requests', 3);
    s.capped('http.requests', 3);
    const r = s.report(10_000, 5);
    expect(r.bySamples.map((c) => [c.key, c.count])).to.deep.equal([
      ['cpu', 900],
      ['http.requests', 500],
    ]);
    expect(r.bySeries[0]!.key).to.equal('http.requests');
    expect(r.bySeries[0]!.count).to.equal(500);
    const keys = r.bySeries[0]!.tagKeys;
    expect(keys.map((k) => k.key)).to.deep.equal(['path', 'bare', 'method']);
    // 500 distinct values, estimated within 4 standard errors (13 % each).
    expect(keys[0]!.values).to.be.within(250, 1000);
    expect(keys.slice(1).map((k) => k.values)).to.deep.equal([1, 1]);
    expect(r.byCapped).to.deep.equal([{ key: 'http.requests', count: 2, error: 0 }]);
    expect(r.windowSeconds).to.equal(10);
  });

  it('covers the current and the previous window only', () => {
    const s = new MetricStats(0, { windowMs: 60_000 });
    s.samples('old', 10, 1_000);
    s.samples('recent', 10, 61_000);
    expect(s.report(61_000).bySamples.map((c) => c.key)).to.deep.equal(['old', 'recent']);
    s.samples('now', 1, 121_000);
    expect(s.report(121_000).bySamples.map((c) => c.key)).to.deep.equal(['recent', 'now']);
    expect(s.report(121_000).windowSeconds).to.equal(61);
    // Quiet for two windows: nothing is left.
    expect(s.report(300_000).bySamples).to.deep.equal([]);
  });

  it('keeps a bounded number of names and tag keys whatever the input', () => {
    const s = new MetricStats(0, { names: 50, tagKeys: 4 });
    for (let i = 0; i < 10_000; i++)
      s.newSeries(
        `n${i}`,
        Array.from({ length: 10 }, (_, k) => `k${k}:${i}`),
        1,
      );
    const r = s.report(2, 1000);
    expect(r.bySeries.length).to.equal(50);
    expect(Math.max(...r.bySeries.map((c) => c.tagKeys.length))).to.equal(4);
  });
});

describe('RecentRejects', () => {
  it('keeps the last lines, newest first, cut to 200 bytes, with the offset inside the line', () => {
    const r = new RecentRejects(3);
    const buf = Buffer.from('ok:1|c\n' + 'x'.repeat(300) + ':y|c');
    r.add(buf, 7, buf.length, 'invalid_value', 7 + 301, '10.0.0.1', 5);
    for (let i = 0; i < 4; i++) r.add(Buffer.from(`b${i}`), 0, 2, 'malformed_line', 2, 'h', i);
    const list = r.list();
    expect(list.map((x) => x.line)).to.deep.equal(['b3', 'b2', 'b1']);
    const r2 = new RecentRejects(2);
    r2.add(buf, 7, buf.length, 'invalid_value', 7 + 301, '10.0.0.1', 5);
    expect(r2.list()[0]!.line.length).to.equal(200);
    expect(r2.list()[0]!.offset).to.equal(301);
  });
});

describe('redactSecrets (the status page’s config)', () => {
  it('replaces keys, tokens, passwords and header values, keeps file paths and the rest', () => {
    const out = redactSecrets({
      backendConfigs: {
        datadog: { apiKey: 'abc123', apiKeyFile: '/etc/dd/key', address: 'https://x' },
        'prometheus-remote-write': { headers: { 'X-Scope-OrgID': 'tenant' }, bearerToken: 't0k' },
        newrelic: { licenseKey: '' },
      },
      list: [{ password: 'p' }],
      port: 5555,
    });
    expect(out).to.deep.equal({
      backendConfigs: {
        datadog: { apiKey: '[REDACTED]', apiKeyFile: '/etc/dd/key', address: 'https://x' },
        'prometheus-remote-write': { headers: { 'X-Scope-OrgID': '[REDACTED]' }, bearerToken: '[REDACTED]' },
        newrelic: { licenseKey: '' },
      },
      list: [{ password: '[REDACTED]' }],
      port: 5555,
    });
  });
});
