/**
 * Cooperative scheduling: long work (statistics of 100,000 series, encoding their
 * documents) runs as generators that yield every so often, driven here so that the event
 * loop, and with it the receive path, gets a turn at least every few milliseconds.
 */

/** How many series are processed between checks of the time budget. */
export const CHUNK_SERIES = 512;

/**
 * Runs a chunked generator to its end synchronously. A promise it yields (a request to
 * wait, e.g. for output buffers) is not awaited: the generator simply goes on.
 */
export function runToEnd<T>(gen: Generator<Promise<void> | void, T>): T {
  for (;;) {
    const r = gen.next();
    if (r.done === true) return r.value;
  }
}

/**
 * Runs a chunked generator, giving the event loop a turn (setImmediate) whenever more
 * than `budgetMs` passed since the last one, so receiving never waits long behind it.
 * A promise the generator yields is awaited before it goes on (back-pressure). Rejects
 * with the signal's reason once `signal` aborts.
 */
export async function runChunked<T>(
  gen: Generator<Promise<void> | void, T>,
  signal?: AbortSignal,
  budgetMs = 2,
): Promise<T> {
  let sliceStart = performance.now();
  try {
    for (;;) {
      // An abandoned flush stops here instead of racing the next one.
      signal?.throwIfAborted();
      const r = gen.next();
      if (r.done === true) return r.value;
      // A wait may end within the same tick (a send completed synchronously reports on
      // nextTick): it does not count as a turn of the event loop, so the budget still runs.
      if (r.value !== undefined) await untilAborted(r.value, signal);
      if (performance.now() - sliceStart >= budgetMs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  } catch (err) {
    // Let an abandoned generator run its `finally` blocks (e.g. hand buffers back).
    gen.return(undefined as T);
    throw err;
  }
}

/** Waits for `p`, or only until `signal` aborts. */
function untilAborted(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return p;
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    p.then(done, done);
  });
}
