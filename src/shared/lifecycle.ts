/**
 * Lifecycle is the start/stop contract every long-lived component follows.
 *
 * `start` resolves once the component is ready; long work runs in the background.
 * `shutdown` MUST be safe without `start` and when called twice. It stops intake first,
 * flushes what it holds, releases sockets and timers, and settles promptly once `signal`
 * aborts (the shutdown deadline).
 */
export interface Lifecycle {
  start(): Promise<void>;
  shutdown(signal?: AbortSignal): Promise<void>;
}
