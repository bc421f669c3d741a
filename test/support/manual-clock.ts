import type { Clock } from '../../src/shared/clock.js';

/** A Clock whose time and intervals advance only when the test says so. */
export class ManualClock implements Clock {
  #now: number;
  #mono = 0;
  readonly #timers = new Set<{ every: number; next: number; fn: () => void }>();
  /** One-shot waits (`after`), not timeouts: a back-off, a debounce. */
  readonly #waits = new Set<object>();

  constructor(startMs = 1_556_100_400_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  monotonicMs(): number {
    return this.#mono;
  }

  /** Sets the wall clock without firing timers. */
  setNow(ms: number): void {
    this.#now = ms;
  }

  every(intervalMs: number, fn: () => void): () => void {
    const t = { every: intervalMs, next: this.#mono + intervalMs, fn };
    this.#timers.add(t);
    return () => this.#timers.delete(t);
  }

  after(ms: number, fn: () => void): () => void {
    const token = {};
    const cancel = this.every(ms, () => {
      cancel();
      this.#waits.delete(token);
      fn();
    });
    this.#waits.add(token);
    return () => {
      cancel();
      this.#waits.delete(token);
    };
  }

  timeout(ms: number): AbortSignal {
    const ctl = new AbortController();
    const cancel = this.every(ms, () => {
      cancel();
      ctl.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    });
    return ctl.signal;
  }

  /** Timers (intervals, one-shots, timeouts) not yet cancelled or fired. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** One-shot waits (`after`: a back-off, a debounce) not yet cancelled or fired; timeouts are not counted. */
  get pendingWaits(): number {
    return this.#waits.size;
  }

  /** Advances both clocks by `ms`, firing due timers (and timeouts) in order. */
  advance(ms: number): void {
    const target = this.#mono + ms;
    for (;;) {
      let due: { every: number; next: number; fn: () => void } | undefined;
      for (const t of this.#timers) if (t.next <= target && (due === undefined || t.next < due.next)) due = t;
      if (due === undefined) break;
      this.#now += due.next - this.#mono;
      this.#mono = due.next;
      due.next += due.every;
      due.fn();
    }
    this.#now += target - this.#mono;
    this.#mono = target;
  }
}
