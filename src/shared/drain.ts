import { once } from 'node:events';

/**
 * Resolves when `stream` emits `drain` or `close`, and removes both listeners whichever
 * comes first: a writer that waits once per chunk of a long response leaves nothing behind.
 */
export async function drainedOrClosed(stream: NodeJS.EventEmitter): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([
      once(stream, 'drain', { signal: done.signal }),
      once(stream, 'close', { signal: done.signal }),
    ]);
  } finally {
    done.abort();
  }
}
