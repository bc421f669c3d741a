import { asError } from './errors.js';
/** Settles with `p`, or rejects as soon as `signal` aborts (a hanging backend cannot hold us). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asError(e));
      },
    );
  });
}

/**
 * Aborts `target` when `signal` aborts (at once if it has). Returns the function that
 * stops following `signal`.
 */
export function abortWhen(signal: AbortSignal | undefined, target: AbortController): () => void {
  if (signal === undefined) return () => undefined;
  const onAbort = (): void => target.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
