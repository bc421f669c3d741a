import type { Backend } from '../../src/backends/backend.js';
import type { FlushSnapshot } from '../../src/aggregator/snapshot.js';
import { Flusher, type FlusherMetrics } from '../../src/flusher/flusher.js';
import { silentLogger } from '../../src/shared/logger.js';
import { makePipeline, send } from './pipeline.js';
import { waitFor } from './wait-for.js';

/**
 * A backend behind the daemon's real Flusher, on one manual clock: lines go in through
 * the real pipeline, `tick()` ends an interval, and `settle()` waits until nothing is in
 * flight (every delivery has ended or waits on the clock to retry).
 */
export function flushDriver(intervalMs = 1000) {
  const p = makePipeline({ percentThresholds: [90] });
  let handled = 0;
  let ticks = 0;
  let held = 0;
  const dropped: Array<{ reason: string; snapshot: FlushSnapshot }> = [];
  const metrics: FlusherMetrics = {
    flushed: () => undefined,
    backendResult: () => undefined,
    backendDuration: () => undefined,
    overdue: () => undefined,
    snapshotsHeld: () => undefined,
    freshSnapshot: () => undefined,
    tickDeferred: () => void handled++,
    intervalDropped: (_b, reason, snapshot) => void dropped.push({ reason, snapshot }),
  };
  let inFlight = 0;
  let backend: Backend | undefined;
  const tracked = (b: Backend): Backend => ({
    name: b.name,
    ...(b.busyPolicy !== undefined ? { busyPolicy: b.busyPolicy } : {}),
    ...(b.deliveryTimeoutMs !== undefined ? { deliveryTimeoutMs: b.deliveryTimeoutMs } : {}),
    start: () => b.start(),
    shutdown: (s) => b.shutdown(s),
    sendEvent: (e, s) => b.sendEvent(e, s),
    flush: (snapshot, signal, hurry) => {
      inFlight++;
      return b.flush(snapshot, signal, hurry).finally(() => inFlight--);
    },
  });
  const flusher = new Flusher(
    { flushIntervalMs: intervalMs },
    {
      aggregator: p.aggregator,
      backends: () => (backend === undefined ? [] : [backend]),
      clock: p.clock,
      logger: silentLogger,
      metrics: {
        ...metrics,
        // Rises once a cut's snapshot is handed to the backends.
        snapshotsHeld: (n) => {
          if (n > held) handled++;
          held = n;
        },
      },
    },
  );
  return {
    clock: p.clock,
    pipeline: p,
    flusher,
    dropped,
    /** Puts `b` behind the flusher and starts the flusher's timer. */
    async use(b: Backend): Promise<void> {
      backend = tracked(b);
      await flusher.start();
    },
    send(lines: string): void {
      send(p.ingester, lines);
    },
    /** Ends one interval (a tick of the flusher's timer) and waits until it is handled. */
    async tick(): Promise<void> {
      ticks++;
      p.clock.advance(intervalMs);
      await waitFor(() => handled >= ticks, 5000, 'the tick to be handled');
    },
    /** Waits until no delivery runs, or the one that runs waits on the clock to retry. */
    settle(): Promise<unknown> {
      return waitFor(() => inFlight === 0 || p.clock.pendingWaits > 0, 5000, 'deliveries to settle');
    },
    /** Whether anything is still to deliver: a delivery running or an interval held. */
    get busy(): boolean {
      return inFlight > 0 || flusher.heldSnapshots > 0;
    },
    get inFlight(): number {
      return inFlight;
    },
  };
}
