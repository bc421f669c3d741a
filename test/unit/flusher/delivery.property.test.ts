import { expect } from 'chai';
import fc from 'fast-check';
import type { Backend } from '../../../src/backends/backend.js';
import type { FlushSnapshot } from '../../../src/aggregator/snapshot.js';
import { deliver, GOSTATSD_BACKOFF, type HttpAnswer } from '../../../src/backends/shared/http-delivery.js';
import type { Clock } from '../../../src/shared/clock.js';
import { flushDriver } from '../../support/flush-driver.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 60);

/**
 * A push backend built the way every push backend is: its flush posts the interval with
 * the shared retry loop ({@link deliver}) under the flusher's deadline and shutdown hurry,
 * to an endpoint that is up or down as the scenario says.
 */
class ModelPushBackend implements Backend {
  readonly name = 'model';
  readonly busyPolicy = 'coalesce' as const;
  readonly deliveryTimeoutMs: number;
  up = true;
  delivered = 0;
  deliveries = 0;
  readonly dropped: Record<string, number> = {};
  readonly #clock: Clock;
  readonly #maxElapsedMs: number;

  constructor(clock: Clock, maxElapsedMs: number) {
    this.#clock = clock;
    this.#maxElapsedMs = maxElapsedMs;
    this.deliveryTimeoutMs = maxElapsedMs + 1000;
  }

  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
  async sendEvent(): Promise<void> {}

  async flush(snapshot: FlushSnapshot, signal: AbortSignal, hurry?: AbortSignal): Promise<void> {
    const count = snapshot.counters.reduce((n, c) => n + c.value, 0);
    const attempt = (): Promise<HttpAnswer> => {
      if (!this.up) return Promise.resolve({ status: 503, body: 'down' });
      this.delivered += count; // what the endpoint received
      this.deliveries++;
      return Promise.resolve({ status: 200, body: '' });
    };
    const result = await deliver(attempt, {
      backoff: GOSTATSD_BACKOFF,
      maxElapsedMs: this.#maxElapsedMs,
      clock: this.#clock,
      random: () => 0.5,
      signal,
      hurry,
    });
    if (result !== 'delivered') this.dropped[result] = (this.dropped[result] ?? 0) + count;
  }
}

type Step = { kind: 'interval'; count: number } | { kind: 'down' } | { kind: 'up' } | { kind: 'idle'; ticks: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('interval' as const), count: fc.integer({ min: 1, max: 9 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'down' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'up' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('idle' as const), ticks: fc.integer({ min: 1, max: 12 }) }) },
);

describe('delivery through the flusher (property)', function () {
  this.timeout(120_000);

  it('for any sequence of intervals, outages and shutdowns, every count is delivered once or counted as dropped with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 25 }),
        fc.constantFrom(3_000, 15_000),
        fc.constantFrom('generous', 'immediate'),
        fc.boolean(),
        async (steps, maxElapsedMs, shutdownDeadline, upAtShutdown) => {
          const d = flushDriver();
          const b = new ModelPushBackend(d.clock, maxElapsedMs);
          await d.use(b);
          let sent = 0;
          for (const s of steps) {
            if (s.kind === 'down') b.up = false;
            else if (s.kind === 'up') b.up = true;
            else {
              if (s.kind === 'interval') {
                d.send(`c:${s.count}|c`);
                sent += s.count;
              }
              for (let i = 0; i < (s.kind === 'idle' ? s.ticks : 1); i++) {
                await d.tick();
                await d.settle();
              }
            }
          }
          b.up = upAtShutdown;
          const deadline = new AbortController();
          if (shutdownDeadline === 'immediate') deadline.abort();
          await d.flusher.shutdown(deadline.signal);
          // Deliveries the deadline cut short settle as soon as their signal aborts.
          await d.flusher.idle();
          const byFlusher = d.dropped.reduce((n, x) => n + x.snapshot.counters.reduce((m, c) => m + c.value, 0), 0);
          const byBackend = Object.values(b.dropped).reduce((n, v) => n + v, 0);
          expect(b.delivered + byBackend + byFlusher, JSON.stringify({ steps, b, byFlusher })).to.equal(sent);
          // Reasons, never silence: the backend's drops are retry expiry; the flusher's skipped or shutdown.
          expect(Object.keys(b.dropped).every((r) => r === 'expired')).to.equal(true);
          expect(d.dropped.every((x) => x.reason === 'shutdown' || x.reason === 'skipped')).to.equal(true);
          if (shutdownDeadline === 'generous' && upAtShutdown) expect(byFlusher).to.equal(0);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
