import type { Backend } from '../backend.js';

/** NullBackend discards everything; useful to measure the pipeline alone. */
export class NullBackend implements Backend {
  readonly name: string;
  constructor(name = 'null') {
    this.name = name;
  }
  async start(): Promise<void> {}
  async flush(): Promise<void> {}
  async sendEvent(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
