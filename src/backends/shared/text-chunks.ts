import type { BufferPool } from './buffer-pool.js';

/** Bytes of a block when there is no pool (a render for tests or a one-off). */
const UNPOOLED_BLOCK_BYTES = 64 * 1024;

/** A block with less room than this left is full: the writer should take a chunk. */
const SPARE_BYTES = 8 * 1024;

/** A run of whole lines, encoded, and how many lines it holds. */
export interface TextChunk {
  bytes: Buffer;
  lines: number;
  /** Gives the chunk's block back to its pool once the bytes are written (once; safe to repeat). */
  release(): void;
}

/**
 * TextChunks encodes text lines straight into UTF-8 blocks and hands each block out as a
 * chunk of whole lines. Appending each line to a string instead builds a rope of
 * hundreds of thousands of pieces that is flattened and then encoded again when written,
 * and fresh blocks cost a page fault per 4 KiB: with blocks from a {@link BufferPool},
 * a flush of 100,000 series reuses the same few (docs/performance.md).
 *
 * A chunk owns its block until released; the next lines go to another block.
 */
export class TextChunks {
  readonly #pool: BufferPool | undefined;
  #block: Buffer | undefined;
  #off = 0;
  #lines = 0;

  constructor(pool?: BufferPool) {
    this.#pool = pool;
  }

  /** Lines added since the last {@link take}. */
  get lines(): number {
    return this.#lines;
  }

  /** Whether the block is nearly full, so the caller should take a chunk now. */
  get full(): boolean {
    return this.#block !== undefined && this.#block.length - this.#off < SPARE_BYTES;
  }

  /** Adds one line; `text` carries its own line ending. */
  line(text: string): void {
    // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
    const room = 3 * text.length;
    if (this.#block === undefined) this.#block = this.#newBlock(room);
    else if (this.#block.length - this.#off < room) this.#grow(room);
    this.#off += this.#block.write(text, this.#off);
    this.#lines++;
  }

  /** The lines added since the last take, in their block, or undefined when there are none. */
  take(): TextChunk | undefined {
    if (this.#lines === 0) return undefined;
    const block = this.#block!;
    const pool = this.#pool;
    let released = false;
    const chunk: TextChunk = {
      bytes: block.subarray(0, this.#off),
      lines: this.#lines,
      release: () => {
        if (released) return;
        released = true;
        pool?.give(block);
      },
    };
    this.#block = undefined;
    this.#off = 0;
    this.#lines = 0;
    return chunk;
  }

  /** Gives back the block of lines never taken (the writer stopped early). */
  dispose(): void {
    if (this.#block !== undefined) this.#pool?.give(this.#block);
    this.#block = undefined;
    this.#off = 0;
    this.#lines = 0;
  }

  #newBlock(room: number): Buffer {
    const pool = this.#pool;
    if (pool !== undefined && room <= pool.size) return pool.take();
    return Buffer.allocUnsafe(Math.max(pool?.size ?? UNPOOLED_BLOCK_BYTES, room));
  }

  /** Moves the pending lines to a block with `room` more bytes (one line longer than the rest). */
  #grow(room: number): void {
    const old = this.#block!;
    const next = Buffer.allocUnsafe(Math.max(2 * old.length, this.#off + room));
    old.copy(next, 0, 0, this.#off);
    this.#pool?.give(old);
    this.#block = next;
  }
}
