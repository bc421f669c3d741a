import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';

/**
 * Smallest time between two trims (a sidecar's flush interval): a trim walks malloc's free
 * lists, milliseconds in a busy daemon (docs/performance.md, memory per pod).
 */
export const TRIM_EVERY_MS = 10_000;

/**
 * Gives the memory malloc holds free back to the system after a flush, at most once per
 * {@link TRIM_EVERY_MS}, the first time after the first flush. What a sidecar frees after
 * start-up (module loading, compiling, the HTTP parser's WebAssembly) and what V8's
 * background threads free after each collection otherwise stay in its resident memory:
 * 2–2.5 MB per pod (docs/performance.md, memory per pod).
 */
export class MemoryTrimmer {
  readonly #trim: () => boolean;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #last = -Infinity;

  constructor(trim: () => boolean, clock: Clock, logger: Logger) {
    this.#trim = trim;
    this.#clock = clock;
    this.#logger = logger;
  }

  afterFlush(): void {
    const start = this.#clock.monotonicMs();
    if (start - this.#last < TRIM_EVERY_MS) return;
    this.#last = start;
    const released = this.#trim();
    this.#logger.debug({ released, ms: this.#clock.monotonicMs() - start }, 'malloc trimmed');
  }
}
