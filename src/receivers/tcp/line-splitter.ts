/**
 * LineSplitter frames a byte stream into `\n`-terminated lines with a maximum length.
 * A line longer than the limit is discarded up to its newline and reported once through
 * `onTooLong`; the lines around it are unaffected.
 */
export class LineSplitter {
  readonly #max: number;
  readonly #onLine: (bytes: Uint8Array, start: number, end: number) => void;
  readonly #onTooLong: () => void;
  #pending: Buffer | undefined;
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
        const line = Buffer.concat([this.#pending, chunk.subarray(start, nl)]);
        this.#pending = undefined;
        this.#emit(line, 0, line.length);
      } else {
        this.#emit(chunk, start, nl);
      }
      start = nl + 1;
    }
    if (start >= chunk.length || this.#discarding) return;
    const rest = chunk.subarray(start);
    const pendingLen = (this.#pending?.length ?? 0) + rest.length;
    if (pendingLen > this.#max) {
      this.#pending = undefined;
      this.#discarding = true;
      this.#onTooLong();
      return;
    }
    this.#pending = this.#pending === undefined ? Buffer.from(rest) : Buffer.concat([this.#pending, rest]);
  }

  /** Ends the stream: a final line without `\n` is still delivered. */
  end(): void {
    const p = this.#pending;
    this.#pending = undefined;
    this.#discarding = false;
    if (p !== undefined && p.length > 0) this.#emit(p, 0, p.length);
  }

  #emit(bytes: Uint8Array, start: number, end: number): void {
    if (end - start > this.#max) {
      this.#onTooLong();
      return;
    }
    this.#onLine(bytes, start, end);
  }
}
