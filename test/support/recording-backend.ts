import type { FlushSnapshot } from '../../src/aggregator/snapshot.js';
import type { Backend } from '../../src/backends/backend.js';
import type { StatsdEvent } from '../../src/parser/sample.js';

/** A Backend that stores every snapshot and event; can be told to fail or hang. */
export class RecordingBackend implements Backend {
  readonly name: string;
  readonly snapshots: FlushSnapshot[] = [];
  readonly events: StatsdEvent[] = [];
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  started = 0;
  stopped = 0;

  constructor(name = 'recording') {
    this.name = name;
  }

  async start(): Promise<void> {
    this.started++;
  }

  async flush(snapshot: FlushSnapshot, signal: AbortSignal): Promise<void> {
    this.snapshots.push(snapshot);
    if (this.mode === 'fail') throw new Error('told to fail');
    if (this.mode === 'hang') {
      // Ignores the signal on purpose: the flusher must not wait for it.
      await new Promise(() => undefined);
    }
    void signal;
  }

  async sendEvent(event: StatsdEvent): Promise<void> {
    this.events.push(event);
  }

  async shutdown(): Promise<void> {
    this.stopped++;
  }
}
