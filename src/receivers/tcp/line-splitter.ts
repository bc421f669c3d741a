/**
 * LineSplitter frames a byte stream into `\n`-terminated lines with a maximum length.
 * A line longer than the limit is discarded up to its newline and reported once through
 * `onTooLong`; the lines around it are unaffected.
 */
export class LineSplitter {
  readonly #max: number;
  readonly #onLine: (bytes: Uint8Array, start: number, end: number) => void;
  readonly #onTooLong: () => void;
  /** The partial line: `#pending[0, #pendingLen)`, grown by doubling (a slow drip stays linear). */
  #pending: Buffer | undefined;
  #pendingLen = 0;
  #discarding = false;

  constructor(
    maxLineBytes: number,
    onLine: (bytes: Uint8Array, start: number, end: number) => void,
    onTooLong: () => void,
  ) {
    this.#max = maxLineBytes;
    this.#onLine = onLine;
    this.#onTooLong = onTooLong;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      if (this.#discarding) {
        this.#discarding = false;
      } else if (this.#pending !== undefined) {
        if (this.#append(chunk.subarray(start, nl))) {
          const line = this.#pending;
          const len = this.#pendingLen;
          this.#release();
          this.#emit(line, 0, len);
        }
      } else {
        this.#emit(chunk, start, nl);
      }
      start = nl + 1;
    }
    if (start >= chunk.length || this.#discarding) return;
    if (this.#append(chunk.subarray(start))) return;
    this.#discarding = true;
  }

  /**
   * Adds bytes to the partial line, copying them (a socket's chunk may pin a much larger
   * read buffer). False when the line would pass the limit: it is dropped and counted.
   */
  #append(bytes: Buffer): boolean {
    const need = this.#pendingLen + bytes.length;
    if (need > this.#max) {
      this.#release();
      this.#onTooLong();
      return false;
    }
    if (this.#pending === undefined || need > this.#pending.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.#max, Math.max(need, 2 * (this.#pending?.length ?? 0), 256)));
      this.#pending?.copy(grown, 0, 0, this.#pendingLen);
      this.#pending = grown;
    }
    bytes.copy(this.#pending, this.#pendingLen);
    this.#pendingLen = need;
    return true;
  }

  #release(): void {
    this.#pending = undefined;
    this.#pendingLen = 0;
  }

  /** Ends the stream: a final line without `\n` is still delivered. */
  end(): void {
    const p = this.#pending;
    const len = this.#pendingLen;
    this.#release();
    this.#discarding = false;
    if (p !== undefined && len > 0) this.#emit(p, 0, len);
  }

  #emit(bytes: Uint8Array, start: number, end: number): void {
    if (end - start > this.#max) {
      this.#onTooLong();
      return;
    }
    this.#onLine(bytes, start, end);
  }
}
