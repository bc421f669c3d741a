/**
 * Clock is the only source of time for the pipeline, so tests can drive time by hand.
 */
export interface Clock {
  /** Wall-clock time in milliseconds since the Unix epoch. */
  now(): number;
  /** Monotonic time in milliseconds (arbitrary origin); used to measure intervals. */
  monotonicMs(): number;
  /**
   * Calls `fn` every `intervalMs` until the returned function is called.
   * The timer MUST NOT keep the process alive on its own.
   */
  every(intervalMs: number, fn: () => void): () => void;
  /** Calls `fn` once, `ms` from now, unless the returned function is called first. Does not keep the process alive. */
  after(ms: number, fn: () => void): () => void;
  /**
   * A signal that aborts (with a TimeoutError) `ms` from now. Like {@link every}, it
   * MUST NOT keep the process alive on its own.
   */
  timeout(ms: number): AbortSignal;
}

/** systemClock reads the real clocks and uses unref'd Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  every(intervalMs, fn) {
    const t = setInterval(fn, intervalMs);
    t.unref();
    return () => clearInterval(t);
  },
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
  timeout: (ms) => AbortSignal.timeout(ms),
};
