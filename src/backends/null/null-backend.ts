import type { Backend, Explanation } from '../backend.js';
import { explained } from '../shared/explained.js';

/** NullBackend discards everything; useful to measure the pipeline alone. */
export class NullBackend implements Backend {
  readonly name: string;
  constructor(name = 'null') {
    this.name = name;
  }
  async start(): Promise<void> {}
  async flush(): Promise<void> {}

  explain(): Explanation {
    return explained([], 'the null backend discards everything');
  }
  async sendEvent(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
