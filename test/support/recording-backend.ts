import type { FlushSnapshot } from '../../src/aggregator/snapshot.js';
import type { Backend, BackendFactory, BusyPolicy } from '../../src/backends/backend.js';
import type { StatsdEvent } from '../../src/parser/sample.js';

/** What a backend read from one snapshot, copied at the moment it read it. */
export interface Seen {
  intervalSeconds: number;
  counters: Record<string, number>;
  gauges: Record<string, number>;
  /** Timer name → [count, sum, sorted values]. */
  timers: Record<string, [number, number, number[]]>;
  sets: Record<string, string[]>;
}

/** Reads every value of a snapshot into plain data. */
export function read(s: FlushSnapshot): Seen {
  return {
    intervalSeconds: s.intervalSeconds,
    counters: Object.fromEntries(s.counters.map((c) => [c.name, c.value])),
    gauges: Object.fromEntries(s.gauges.map((g) => [g.name, g.value])),
    timers: Object.fromEntries(s.timers.map((t) => [t.name, [t.count, t.sum, [...t.values]]])),
    sets: Object.fromEntries(s.sets.map((x) => [x.name, [...x.members].sort()])),
  };
}

/**
 * A Backend that records what it reads from every snapshot. Modes:
 * - `ok`: reads at once and resolves;
 * - `fail`: reads, then rejects;
 * - `hang`: reads, then never settles (ignores its signal);
 * - `gate`: waits for {@link open} (ignoring its signal, as a backend that goes on after
 *   its deadline), THEN reads the snapshot and resolves: it sees whatever the snapshot
 *   holds at that moment.
 */
export class RecordingBackend implements Backend {
  readonly name: string;
  busyPolicy?: BusyPolicy;
  /** One entry per settled read, in delivery order. */
  readonly seen: Seen[] = [];
  readonly events: StatsdEvent[] = [];
  mode: 'ok' | 'fail' | 'hang' | 'gate' = 'ok';
  /** Flushes called so far. */
  calls = 0;
  started = 0;
  stopped = 0;
  #gate: { promise: Promise<void>; open: () => void } | undefined;
  readonly #waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(name = 'recording', busyPolicy?: BusyPolicy) {
    this.name = name;
    if (busyPolicy !== undefined) this.busyPolicy = busyPolicy;
  }

  async start(): Promise<void> {
    this.started++;
  }

  /** Resolves once `flush` has been called `n` times in all. */
  called(n: number): Promise<void> {
    if (this.calls >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** Lets every gated flush (now or later) read and resolve; back to `ok` mode. */
  open(): void {
    this.mode = 'ok';
    this.#gate?.open();
    this.#gate = undefined;
  }

  async flush(snapshot: FlushSnapshot, signal: AbortSignal): Promise<void> {
    void signal; // every mode but `ok` ignores it on purpose: the flusher must cope
    this.calls++;
    for (const w of this.#waiters.filter((x) => x.n <= this.calls)) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve();
    }
    if (this.mode === 'gate') {
      if (this.#gate === undefined) {
        let open!: () => void;
        const promise = new Promise<void>((r) => (open = r));
        this.#gate = { promise, open };
      }
      await this.#gate.promise;
    }
    this.seen.push(read(snapshot));
    if (this.mode === 'fail') throw new Error('told to fail');
    if (this.mode === 'hang') await new Promise(() => undefined);
  }

  async sendEvent(event: StatsdEvent): Promise<void> {
    this.events.push(event);
  }

  async shutdown(): Promise<void> {
    this.stopped++;
  }
}

/** A backend type `recording` for a daemon's components: every instance it creates is kept. */
export class RecordingBackendFactory {
  readonly instances: RecordingBackend[] = [];
  readonly factory: BackendFactory<unknown> = {
    type: 'recording',
    description: 'records what it reads (tests)',
    keys: [],
    defaultConfig: () => ({}),
    validate: () => ({}),
    create: (_config, _shared, deps) => {
      const b = new RecordingBackend(deps.name);
      this.instances.push(b);
      return b;
    },
  };
}
