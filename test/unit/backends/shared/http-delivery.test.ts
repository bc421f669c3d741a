import { expect } from 'chai';
import {
  backoffDelay,
  deliver,
  GOSTATSD_BACKOFF,
  retryableStatus,
  type HttpAnswer,
} from '../../../../src/backends/shared/http-delivery.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { waitFor } from '../../../support/wait-for.js';

describe('HTTP delivery: back-off and retries', () => {
  it("waits as gostatsd's forwarder does: 0.5 s growing by 1.5, ±50 %, at most 60 s", () => {
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, GOSTATSD_BACKOFF, () => 0.5))).to.deep.equal([
      500, 750, 1125, 1687.5,
    ]);
    expect(backoffDelay(0, GOSTATSD_BACKOFF, () => 0)).to.equal(250);
    expect(backoffDelay(0, GOSTATSD_BACKOFF, () => 1)).to.equal(750);
    expect(backoffDelay(40, GOSTATSD_BACKOFF, () => 0.5)).to.equal(60_000);
  });

  it('retries 5xx, 429, 408 and network errors; not other 4xx', () => {
    expect([500, 503, 429, 408, 400, 404, 413].map(retryableStatus)).to.deep.equal([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  const run = (answers: Array<HttpAnswer | Error>, maxElapsedMs: number, clock = new ManualClock()) => {
    let calls = 0;
    const hurry = new AbortController();
    const result = deliver(
      () => {
        const a = answers[Math.min(calls++, answers.length - 1)]!;
        return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
      },
      {
        backoff: GOSTATSD_BACKOFF,
        maxElapsedMs,
        clock,
        random: () => 0.5,
        hurry: hurry.signal,
        signal: new AbortController().signal,
      },
    );
    return { result, calls: () => calls, clock, hurry };
  };

  it('tries again after each wait until an answer is 2xx', async () => {
    const r = run([new Error('ECONNREFUSED'), { status: 503, body: '' }, { status: 202, body: '' }], 30_000);
    await waitFor(() => r.clock.pendingTimers === 1);
    r.clock.advance(500);
    await waitFor(() => r.calls() === 2 && r.clock.pendingTimers === 1);
    r.clock.advance(750);
    expect(await r.result).to.equal('delivered');
    expect(r.calls()).to.equal(3);
  });

  it('gives up once the next attempt would start past the elapsed-time budget', async () => {
    const r = run([{ status: 500, body: '' }], 2000); // waits 500 + 750, then 1125 would pass 2 s
    await waitFor(() => r.clock.pendingTimers === 1);
    r.clock.advance(500);
    await waitFor(() => r.calls() === 2 && r.clock.pendingTimers === 1);
    r.clock.advance(750);
    expect(await r.result).to.equal('expired');
    expect(r.calls()).to.equal(3);
  });

  it('a refusal (4xx) ends at once; hurry (shutdown) ends a wait, and the next attempt is the last', async () => {
    expect(await run([{ status: 400, body: 'bad' }], 30_000).result).to.equal('rejected');
    const r = run([{ status: 503, body: '' }], 30_000);
    await waitFor(() => r.clock.pendingTimers === 1);
    r.hurry.abort();
    expect(await r.result).to.equal('expired');
    expect(r.calls()).to.equal(2);
    const ok = run(
      [
        { status: 503, body: '' },
        { status: 200, body: '' },
      ],
      30_000,
    );
    await waitFor(() => ok.clock.pendingTimers === 1);
    ok.hurry.abort();
    expect(await ok.result).to.equal('delivered');
  });

  it('the deadline ends a wait to retry: expired', async () => {
    const deadline = new AbortController();
    const clock = new ManualClock();
    const result = deliver(() => Promise.resolve({ status: 503, body: '' }), {
      backoff: GOSTATSD_BACKOFF,
      maxElapsedMs: 30_000,
      clock,
      random: () => 0.5,
      signal: deadline.signal,
    });
    await waitFor(() => clock.pendingTimers === 1);
    deadline.abort();
    expect(await result).to.equal('expired');
  });
});
