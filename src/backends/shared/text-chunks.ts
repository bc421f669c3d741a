/** Bytes of the first block the lines are encoded into (most flushes fit), and of the next ones. */
const FIRST_BLOCK_BYTES = 64 * 1024;
const BLOCK_BYTES = 1024 * 1024;

/** A run of whole lines, encoded, and how many lines it holds. */
export interface TextChunk {
  bytes: Buffer;
  lines: number;
}

/**
 * TextChunks encodes text lines straight into UTF-8 blocks and hands them out as chunks
 * of whole lines. Appending each line to a string instead builds a rope of hundreds of
 * thousands of pieces that is flattened and then encoded again when written: at 100,000
 * series that took three times as long (docs/performance.md).
 *
 * A chunk taken is never written to again, so it can be handed to a stream that keeps
 * it until the reader takes it; the next chunk continues in the rest of the block.
 */
export class TextChunks {
  #block = Buffer.allocUnsafe(FIRST_BLOCK_BYTES);
  #start = 0;
  #off = 0;
  #lines = 0;

  /** Lines added since the last {@link take}. */
  get lines(): number {
    return this.#lines;
  }

  /** Adds one line; `text` carries its own line ending. */
  line(text: string): void {
    // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
    if (this.#block.length - this.#off < 3 * text.length) this.#newBlock(3 * text.length);
    this.#off += this.#block.write(text, this.#off);
    this.#lines++;
  }

  /** The lines added since the last take, or undefined when there are none. */
  take(): TextChunk | undefined {
    if (this.#lines === 0) return undefined;
    const chunk = { bytes: this.#block.subarray(this.#start, this.#off), lines: this.#lines };
    this.#start = this.#off;
    this.#lines = 0;
    return chunk;
  }

  /** Moves the pending lines to a new block with room for `bytes` more. */
  #newBlock(bytes: number): void {
    const pending = this.#off - this.#start;
    const next = Buffer.allocUnsafe(Math.max(BLOCK_BYTES, pending + bytes));
    this.#block.copy(next, 0, this.#start, this.#off);
    this.#block = next;
    this.#start = 0;
    this.#off = pending;
  }
}
