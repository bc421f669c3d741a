/**
 * BufferPool recycles output buffers of one size: a writer hands out what it wrote in
 * the buffer it wrote it into, and the buffer comes back (`give`) once the bytes are sent,
 * so a flush of 100,000 series (tens of MB of output) reuses a few buffers instead of
 * allocating and garbage-collecting one per piece. At most `keep` idle buffers are
 * retained. (Large fresh buffers cost page faults too: with the image's malloc settings
 * every one above 128 KiB is a new mapping.)
 *
 * It also paces the writer: once `limit` buffers are out (written, not yet sent), the
 * chunked writer waits for one to come back ({@link whenReturned}), so output never
 * piles up in memory faster than it is taken.
 */
export class BufferPool {
  readonly size: number;
  readonly #keep: number;
  readonly #limit: number;
  readonly #idle: Buffer[] = [];
  #out = 0;
  #waiters: Array<() => void> = [];

  constructor(size: number, keep = 16, limit = keep) {
    this.size = size;
    this.#keep = keep;
    this.#limit = limit;
  }

  take(): Buffer {
    this.#out++;
    return this.#idle.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Takes a buffer back; one of another size was not the pool's and is ignored. */
  give(b: Buffer): void {
    if (b.length !== this.size) return;
    this.#out--;
    if (this.#idle.length < this.#keep) this.#idle.push(b);
    if (this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    }
  }

  /** Whether `limit` buffers are out: the writer should wait before starting another. */
  get exhausted(): boolean {
    return this.#out >= this.#limit;
  }

  /** Resolves when the next buffer comes back. */
  whenReturned(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Idle buffers held (for tests). */
  get idle(): number {
    return this.#idle.length;
  }

  /** Buffers taken and not yet given back (for tests). */
  get out(): number {
    return this.#out;
  }
}
