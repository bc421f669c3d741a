import { expect } from 'chai';
import fc from 'fast-check';
import { deflateSync } from 'node:zlib';
import { HTTP_INGEST_RESULTS } from '../../src/ingest/ingest-stats.js';
import { post, rawBody, rawMessage, rawRequest, startIngestion, type Ingestion } from '../support/gostatsd-wire.js';

/**
 * Hostile HTTP ingestion: random and truncated bodies, wrong encodings, inflation bombs,
 * huge declared lengths, and well-formed messages full of odd names and values. Nothing
 * crashes, every request is answered and counted, and the good requests among them are
 * merged exactly. `npm run fuzz` raises FUZZ_RUNS.
 */
const RUNS = Math.max(20, Math.floor(Number(process.env['FUZZ_RUNS'] ?? 150) / 3));

const oddName = fc.oneof(fc.string({ maxLength: 30 }), fc.stringMatching(/^[a-z.]{1,20}$/)).map((s) => `r${s}`);
const oddNumber = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308));
const oddMessage = fc
  .record({
    counters: fc.array(
      fc.record({ name: oddName, value: fc.integer(), tags: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }) }),
      {
        maxLength: 5,
      },
    ),
    gauges: fc.array(fc.record({ name: oddName, value: oddNumber, host: fc.string({ maxLength: 10 }) }), {
      maxLength: 5,
    }),
    timers: fc.array(
      fc.record({ name: oddName, values: fc.array(oddNumber, { maxLength: 5 }), sampleCount: oddNumber }),
      { maxLength: 5 },
    ),
    sets: fc.array(fc.record({ name: oddName, values: fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }) }), {
      maxLength: 5,
    }),
  })
  .map((m) => rawMessage(m));

type Req = { kind: 'post'; body: Buffer; headers: Record<string, string> } | { kind: 'declared'; length: number };

const request: fc.Arbitrary<Req> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => ({ kind: 'post' as const, body: Buffer.from(b), headers: {} })),
  fc
    .uint8Array({ maxLength: 300 })
    .map((b) => ({ kind: 'post' as const, body: Buffer.from(b), headers: { 'content-encoding': 'deflate' } })),
  fc.uint8Array({ maxLength: 300 }).map((b) => ({
    kind: 'post' as const,
    body: deflateSync(b),
    headers: { 'content-encoding': 'deflate' },
  })),
  fc.tuple(oddMessage, fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()).map(([m, cut, deflate]) => {
    const full = rawBody(m, deflate ? 'deflate' : 'identity');
    return {
      kind: 'post' as const,
      body: full.subarray(0, Math.floor(full.length * cut)),
      headers: { 'content-encoding': deflate ? 'deflate' : 'identity' },
    };
  }),
  oddMessage.map((m) => ({ kind: 'post' as const, body: rawBody(m), headers: { 'content-encoding': 'deflate' } })),
  fc.constantFrom('gzip', 'br', 'deflate, gzip', 'x'.repeat(300), 'identity;q=1').map((enc) => ({
    kind: 'post' as const,
    body: rawBody(rawMessage({ counters: [{ name: 'rx', value: 1 }] })),
    headers: { 'content-encoding': enc },
  })),
  fc.integer({ min: 1, max: 64 }).map((mib) => ({
    kind: 'post' as const,
    body: deflateSync(Buffer.alloc(mib * 1024 * 1024)), // an inflation bomb
    headers: { 'content-encoding': 'deflate' },
  })),
  fc.integer({ min: 70_000, max: Number.MAX_SAFE_INTEGER }).map((length) => ({ kind: 'declared' as const, length })),
);

describe('fuzz: HTTP ingestion (/v2/raw)', function () {
  this.timeout(120_000);
  let ing: Ingestion;
  before(async () => {
    ing = await startIngestion({ maxBodyBytes: 65_536, maxMessageBytes: 1024 * 1024 });
  });
  after(() => ing.receiver.shutdown());

  it('answers and counts every hostile request; good requests beside them are merged exactly', async () => {
    let sent = 0;
    let good = 0;
    await fc.assert(
      fc.asyncProperty(request, fc.integer({ min: 0, max: 1000 }), async (req, value) => {
        let status: number;
        if (req.kind === 'declared') {
          const line = await rawRequest(
            ing.port,
            `POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: ${req.length}`,
            'x',
          );
          status = Number(line.split(' ')[1]);
        } else status = (await post(ing.port, '/v2/raw', req.body, req.headers)).status;
        sent++;
        expect([202, 400, 413]).to.include(status);
        const ok = await post(ing.port, '/v2/raw', rawBody(rawMessage({ counters: [{ name: 'zz.good', value }] })), {
          'content-encoding': 'deflate',
        });
        expect(ok.status).to.equal(202);
        good += value;
      }),
      { numRuns: RUNS },
    );
    const counts = ing.p.stats.httpIngest('main');
    expect(HTTP_INGEST_RESULTS.reduce((n, r) => n + counts[r], 0)).to.equal(2 * sent);
    const s = ing.p.aggregator.snapshotAndReset(ing.p.clock.now(), 1);
    expect(s.counters.find((c) => c.name === 'zz.good')?.value).to.equal(good);
    for (const g of s.gauges) expect(Number.isFinite(g.value), g.name).to.equal(true);
    for (const t of s.timers) expect([...t.values].every(Number.isFinite), t.name).to.equal(true);
  });
});
