import type { ParseErrorReason } from '../parser/sample.js';
import type { Transport } from '../receivers/receiver.js';

export type { Transport } from '../receivers/receiver.js';

/** Takes a rejected line `bytes[start, end)`: its reason, where it goes wrong (`at`, an index into `bytes`), its sender. */
export type Rejection = (
  bytes: Uint8Array,
  start: number,
  end: number,
  reason: ParseErrorReason,
  at: number,
  source: string,
  nowMs: number,
) => void;

/**
 * What the ingester shows a live tap (`/debug/tap`) while one is open. The ingester calls
 * it only while it is attached, so with no tap open the receive path pays one check per
 * datagram. Implementations copy what they keep: the bytes are a receive buffer that is
 * reused at once.
 */
export interface IngestTap {
  /** One datagram (UDP, Unix socket) as received; `bytes[start, end)`. */
  datagram(bytes: Uint8Array, start: number, end: number, source: string, transport: Transport, nowMs: number): void;
  /** One TCP line; `bytes[start, end)` without its newline. */
  line(bytes: Uint8Array, start: number, end: number, source: string, nowMs: number): void;
  /** A line the parser rejected, with where it goes wrong (`at`, an index into `bytes`). */
  readonly rejected: Rejection;
}

/** Where the ingester keeps rejected lines (a {@link RecentRejects}, or an ingest worker's relay of it). */
export interface RejectSink {
  readonly add: Rejection;
}

/** One rejected line, as the status page lists it. */
export interface RejectedLine {
  readonly atMs: number;
  readonly reason: ParseErrorReason;
  /** Byte offset in the line where it goes wrong. */
  readonly offset: number;
  /** The line's first {@link CUT_BYTES} bytes. */
  readonly line: string;
  readonly source: string;
}

/** How much of a rejected line is kept. */
export const CUT_BYTES = 200;

/** A rejected line as it is kept: its first {@link CUT_BYTES} bytes, where it goes wrong within them. */
export const rejectedLine = (
  ...[bytes, start, end, reason, at, source, nowMs]: Parameters<Rejection>
): RejectedLine => ({
  atMs: nowMs,
  reason,
  offset: at - start,
  line: Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(end - start, CUT_BYTES)).toString('utf8'),
  source,
});

/**
 * The last few rejected lines (a ring of {@link RecentRejects.capacity}), kept always: a
 * rejected line already takes the slow path, and the status page shows them.
 */
export class RecentRejects implements RejectSink {
  readonly capacity: number;
  readonly #ring: RejectedLine[] = [];
  #next = 0;

  constructor(capacity = 20) {
    this.capacity = capacity;
  }

  /** Keeps a rejected line. */
  readonly add: Rejection = (bytes, start, end, reason, at, source, nowMs) =>
    this.keep(rejectedLine(bytes, start, end, reason, at, source, nowMs));

  /** Keeps a rejected line already cut (one an ingest worker relayed). */
  keep(r: RejectedLine): void {
    if (this.#ring.length < this.capacity) this.#ring.push(r);
    else this.#ring[this.#next] = r;
    this.#next = (this.#next + 1) % this.capacity;
  }

  /** Newest first. */
  list(): RejectedLine[] {
    const n = this.#ring.length;
    const out: RejectedLine[] = [];
    for (let i = 1; i <= n; i++) out.push(this.#ring[(this.#next - i + n) % n]!);
    return out;
  }
}
