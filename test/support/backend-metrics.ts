import type { BackendMetrics, DisabledSubMetrics } from '../../src/backends/backend.js';

/** BackendMetrics that keep what a backend reported, for assertions. */
export class CountingMetrics implements BackendMetrics {
  readonly errors: string[] = [];
  readonly drops: Record<string, number> = {};
  /** Datagrams, writes or requests delivered. */
  requests = 0;
  /** Items (lines, samples, series) delivered. */
  items = 0;
  sendError(code: string): void {
    this.errors.push(code);
  }
  dropped(reason: string, count: number): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + count;
  }
  sent(datagrams: number, items: number): void {
    this.requests += datagrams;
    this.items += items;
  }
}

/** `[disabled-sub-metrics]` with nothing disabled. */
export const NO_DISABLED_SUB_METRICS: DisabledSubMetrics = {
  count: false,
  countPerSecond: false,
  mean: false,
  median: false,
  lower: false,
  upper: false,
  stddev: false,
  sum: false,
  sumSquares: false,
};

/** How a flush ended: `delivered`, or the message it was rejected with (what was lost is counted). */
export function flushOutcome(flush: Promise<void>): Promise<string> {
  return flush.then(
    () => 'delivered',
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
}
