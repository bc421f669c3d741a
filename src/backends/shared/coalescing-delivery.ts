import { mergeSnapshots } from '../../aggregator/merge.js';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { abortWhen } from '../../shared/abort.js';

/**
 * Sends one interval: renders `snapshot` and posts it. `stop` aborts a wait to retry
 * (the snapshot then goes back to be merged with newer ones); `deadline` fails an
 * attempt on the wire. Resolves `true` when the snapshot is done with (delivered or
 * counted as dropped), `false` when it was stopped and should be sent again.
 */
export type SendInterval = (snapshot: FlushSnapshot, stop: AbortSignal, deadline: AbortSignal) => Promise<boolean>;

/**
 * CoalescingDelivery is the send loop of a backend that posts per-interval data to an
 * HTTP API (Datadog, New Relic, CloudWatch): one interval in delivery at a time;
 * intervals that end meanwhile are merged into one waiting interval (counters add,
 * gauges take the newer value, timers concatenate their values, sets union: the
 * aggregator's merge), which is sent as soon as the delivery ends. A vendor that is down
 * therefore costs one waiting interval of memory, not one request per interval, and
 * loses no count within its retry window. Shutdown sends what waits once more.
 */
export class CoalescingDelivery {
  readonly #send: SendInterval;
  #waiting: FlushSnapshot | undefined;
  #running: Promise<void> | undefined;
  readonly #stop = new AbortController();
  readonly #deadline = new AbortController();

  constructor(send: SendInterval) {
    this.#send = send;
  }

  /** Whether an interval is in delivery (posting, or waiting to retry). */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Takes an interval (copied: the snapshot may be reused once this returns). */
  add(snapshot: FlushSnapshot): void {
    this.#waiting = this.#merge(snapshot);
    this.#pump();
  }

  #merge(snapshot: FlushSnapshot): FlushSnapshot {
    const older = this.#waiting ?? { ...snapshot, intervalSeconds: 0, counters: [], gauges: [], timers: [], sets: [] };
    return mergeSnapshots(older, snapshot);
  }

  #pump(): void {
    if (this.#running !== undefined || this.#waiting === undefined || this.#stop.signal.aborted) return;
    const s = this.#waiting;
    this.#waiting = undefined;
    this.#running = this.#send(s, this.#stop.signal, this.#deadline.signal)
      .then((done) => {
        // Not done (stopped while waiting to retry): in front of anything newer.
        if (!done) this.#waiting = this.#waiting === undefined ? s : mergeSnapshots(s, this.#waiting);
      })
      .finally(() => {
        this.#running = undefined;
        this.#pump();
      });
  }

  /** Stops waiting to retry, then sends what waits once more, retried until `signal` aborts. */
  async shutdown(signal?: AbortSignal): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const unfollow = abortWhen(signal, this.#deadline);
    this.#stop.abort();
    try {
      await this.#running;
      const last = this.#waiting;
      this.#waiting = undefined;
      if (last !== undefined) await this.#send(last, new AbortController().signal, this.#deadline.signal);
    } finally {
      unfollow();
    }
  }
}
