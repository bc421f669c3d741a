import type { CounterPoint, FlushSnapshot, GaugePoint, SetPoint, TimerPoint } from '../../aggregator/snapshot.js';
import { CHUNK_SERIES, runToEnd } from '../../aggregator/interval-cut.js';
import { goJsonNumber, goJsonString } from './go-json.js';
import type { SepMatch, SepMatcher, SepMismatch } from './sep-matcher.js';

/** Why items were left out of the documents. */
export type DropReason = SepMismatch | 'non_finite' | 'too_large';

/** One JSON document for one SEP instance, ready to send as one datagram. */
export interface SepDocument {
  readonly sep: string;
  /**
   * The document's bytes. With a {@link DocumentBuffers} pool they live in a pooled
   * buffer: valid until `release()` is called, after which the pool reuses them.
   */
  readonly payload: Buffer;
  /** Number of items inside, for accounting. */
  readonly items: number;
  /** Gives the payload's buffer back to its pool (a no-op without one). Call once, when sent. */
  release(): void;
}

/**
 * DocumentBuffers recycles the encoder's write buffers: a completed document is handed
 * over in the buffer it was written into and comes back once sent, so a flush of
 * 100,000 series (~50 MB of JSON) reuses a few buffers instead of allocating and
 * garbage-collecting one per document. At most `keep` idle buffers are retained.
 */
export class DocumentBuffers {
  readonly size: number;
  readonly #keep: number;
  readonly #idle: Buffer[] = [];

  constructor(size: number, keep = 16) {
    this.size = size;
    this.#keep = keep;
  }

  take(): Buffer {
    return this.#idle.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(b: Buffer): void {
    if (b.length === this.size && this.#idle.length < this.#keep) this.#idle.push(b);
  }

  /** Idle buffers held (for tests). */
  get idle(): number {
    return this.#idle.length;
  }
}

/** What {@link encodeSnapshot} produced. */
export interface EncodeResult {
  readonly documents: SepDocument[];
  /** Items left out, by reason (counted per item, like the reference's per-item errors). */
  readonly dropped: Record<DropReason, number>;
  /** One example metric name per drop reason, for logs. */
  readonly examples: Partial<Record<DropReason, string>>;
}

/** The series of one SEP id, by type, in snapshot order. */
interface SepGroup {
  readonly counters: CounterPoint[];
  readonly timers: TimerPoint[];
  readonly gauges: GaugePoint[];
  readonly sets: SetPoint[];
}

const noop = (): void => {};

const AGGREGATION_NAMES = new Map<string, Buffer>();
/** `count`, `per_second`, `upper_90`, … as bytes, built once per name. */
function aggregationBytes(name: string): Buffer {
  let b = AGGREGATION_NAMES.get(name);
  if (b === undefined) {
    b = Buffer.from(name);
    if (AGGREGATION_NAMES.size < 10_000) AGGREGATION_NAMES.set(name, b);
  }
  return b;
}
const A = {
  count: aggregationBytes('count'),
  perSecond: aggregationBytes('per_second'),
  lower: aggregationBytes('lower'),
  upper: aggregationBytes('upper'),
  countPs: aggregationBytes('count_ps'),
  mean: aggregationBytes('mean'),
  median: aggregationBytes('median'),
  std: aggregationBytes('std'),
  sum: aggregationBytes('sum'),
  sumSquares: aggregationBytes('sum_squares'),
  value: aggregationBytes('value'),
  len: aggregationBytes('len'),
};

/** Number of characters of a 32-bit integer in decimal. */
function intLength(v: number): number {
  let n = v < 0 ? 2 : 1;
  for (let a = Math.abs(v); a >= 10; a = Math.floor(a / 10)) n++;
  return n;
}

/** Writes a 32-bit integer of `len` characters at `off`; returns the new offset. */
function writeInt(b: Buffer, off: number, v: number, len: number): number {
  let a = Math.abs(v);
  let p = off + len - 1;
  do {
    b[p--] = 0x30 + (a % 10);
    a = Math.floor(a / 10);
  } while (a > 0);
  if (v < 0) b[off] = 0x2d;
  return off + len;
}

/**
 * Writes the items of one SEP into documents of at most `maxBytes`, straight into a
 * reusable buffer: `{"sep":…,"metrics":[item,item,…]}`.
 */
class DocumentWriter {
  readonly #max: number;
  readonly #pool: DocumentBuffers | undefined;
  #buf: Buffer;
  readonly #tail: Buffer;
  readonly #emit: (doc: SepDocument) => void;
  readonly #onDrop: (reason: DropReason, name: string) => void;
  #sep = '';
  #head: Buffer = Buffer.alloc(0);
  #off = 0;
  #items = 0;

  constructor(
    maxBytes: number,
    unixSeconds: number,
    emit: (doc: SepDocument) => void,
    onDrop: (reason: DropReason, name: string) => void,
    pool: DocumentBuffers | undefined,
  ) {
    this.#max = maxBytes;
    this.#pool = pool !== undefined && pool.size >= maxBytes ? pool : undefined;
    this.#buf = this.#pool?.take() ?? Buffer.allocUnsafe(maxBytes);
    this.#tail = Buffer.from(`,"unixTimestamp":${unixSeconds}}`);
    this.#emit = emit;
    this.#onDrop = onDrop;
  }

  begin(sep: string): void {
    this.#sep = sep;
    this.#head = Buffer.from(`{"sep":${goJsonString(sep)},"metrics":[`);
    this.#restart();
  }

  item(m: SepMatch, prefix: Buffer, aggregation: Buffer, value: number, name: string): void {
    if (!Number.isFinite(value)) {
      this.#onDrop('non_finite', name);
      return;
    }
    // Small integers (counts, most gauges) are written digit by digit; others via String().
    const int = value === (value | 0) && !Object.is(value, -0);
    const v = int ? '' : goJsonNumber(value);
    const vLen = int ? intLength(value) : v.length;
    const middle = m.middleEnd - m.middleStart;
    const len = prefix.length + aggregation.length + middle + vLen + this.#tail.length;
    if (this.#head.length + len + 2 > this.#max) {
      this.#onDrop('too_large', name);
      return;
    }
    if (this.#off + len + 3 > this.#max) {
      this.end();
      this.#restart();
    }
    const b = this.#buf;
    if (this.#items > 0) b[this.#off++] = 0x2c; // ','
    b.set(prefix, this.#off);
    this.#off += prefix.length;
    b.set(aggregation, this.#off);
    this.#off += aggregation.length;
    m.arena.copy(b, this.#off, m.middleStart, m.middleEnd);
    this.#off += middle;
    if (int) this.#off = writeInt(b, this.#off, value, vLen);
    else this.#off += b.write(v, this.#off, 'latin1');
    b.set(this.#tail, this.#off);
    this.#off += this.#tail.length;
    this.#items++;
  }

  /** Closes the current document, if it has items. */
  end(): void {
    if (this.#items === 0) return;
    const b = this.#buf;
    b[this.#off++] = 0x5d; // ']'
    b[this.#off++] = 0x7d; // '}'
    const pool = this.#pool;
    if (pool === undefined) {
      const payload = Buffer.allocUnsafe(this.#off);
      b.copy(payload, 0, 0, this.#off);
      this.#emit({ sep: this.#sep, payload, items: this.#items, release: noop });
    } else {
      // Hand the write buffer over and continue in another one: no copy.
      this.#buf = pool.take();
      this.#emit({
        sep: this.#sep,
        payload: b.subarray(0, this.#off),
        items: this.#items,
        release: () => pool.give(b),
      });
    }
    this.#items = 0;
  }

  /** Returns the current write buffer to the pool (the writer is done). */
  close(): void {
    this.#pool?.give(this.#buf);
  }

  #restart(): void {
    this.#buf.set(this.#head, 0);
    this.#off = this.#head.length;
    this.#items = 0;
  }
}

/**
 * Turns one consolidated snapshot into SepAgent documents (sepagent-backend.md §4–§5):
 * one `{"sep":…,"metrics":[…]}` per SEP id with items in the order counters, timers,
 * gauges, sets; the item fields in the reference's order; `unixTimestamp` the flush
 * second. A document longer than `maxBytes` is split into several valid documents for
 * the same SEP. NaN/±Infinity items are left out and counted instead of failing the
 * document. Pure: no I/O.
 */
export function encodeSnapshot(snapshot: FlushSnapshot, matcher: SepMatcher, maxBytes: number): EncodeResult {
  return runToEnd(encodeSnapshotChunked(snapshot, matcher, maxBytes));
}

/**
 * {@link encodeSnapshot} as a generator that yields every few hundred series, for
 * runChunked. With `onDocument`, each document is handed over as soon as it is complete
 * (and `documents` stays empty), so a large flush never holds all its datagrams at once;
 * with `pool` too, documents are written into recycled buffers, which the consumer gives
 * back with `release()` once a document is sent.
 */
export function* encodeSnapshotChunked(
  snapshot: FlushSnapshot,
  matcher: SepMatcher,
  maxBytes: number,
  onDocument?: (doc: SepDocument) => void,
  pool?: DocumentBuffers,
): Generator<void, EncodeResult> {
  const dropped: Record<DropReason, number> = { sep_not_found: 0, no_statistics: 0, non_finite: 0, too_large: 0 };
  const examples: Partial<Record<DropReason, string>> = {};
  const drop = (reason: DropReason, name: string, n = 1): void => {
    dropped[reason] += n;
    examples[reason] ??= name;
  };

  // Group the series by SEP id, keeping the reference's type order within each SEP.
  const bySep = new Map<string, SepGroup>();
  const groupOf = (name: string, items: number): SepGroup | undefined => {
    const c = matcher.classify(name);
    if (c === 'ignored') return undefined;
    if (typeof c === 'string') {
      drop(c, name, items);
      return undefined;
    }
    let g = bySep.get(c.instanceId);
    if (g === undefined) {
      g = { counters: [], timers: [], gauges: [], sets: [] };
      bySep.set(c.instanceId, g);
    }
    return g;
  };
  let n = 0;
  for (const p of snapshot.counters) {
    groupOf(p.name, 2)?.counters.push(p);
    if (++n % CHUNK_SERIES === 0) yield;
  }
  for (const p of snapshot.timers) {
    groupOf(p.name, 9 + p.percentiles.length)?.timers.push(p);
    if (++n % CHUNK_SERIES === 0) yield;
  }
  for (const p of snapshot.gauges) {
    groupOf(p.name, 1)?.gauges.push(p);
    if (++n % CHUNK_SERIES === 0) yield;
  }
  for (const p of snapshot.sets) {
    groupOf(p.name, 1)?.sets.push(p);
    if (++n % CHUNK_SERIES === 0) yield;
  }

  const documents: SepDocument[] = [];
  const emit = onDocument ?? ((d: SepDocument): void => void documents.push(d));
  const w = new DocumentWriter(maxBytes, Math.floor(snapshot.timestampMs / 1000), emit, drop, pool);
  try {
    yield* writeGroups(w, bySep, matcher);
  } finally {
    w.close();
  }
  return { documents, dropped, examples };
}

/** Writes every SEP group's items, in the reference's order (counters, timers, gauges, sets). */
function* writeGroups(w: DocumentWriter, bySep: Map<string, SepGroup>, matcher: SepMatcher): Generator<void, void> {
  // Names in a group were classified above, so these look-ups hit the matcher's cache.
  const matchOf = (name: string): SepMatch => matcher.classify(name) as SepMatch;
  let n = 0;
  for (const [sep, g] of bySep) {
    w.begin(sep);
    for (const c of g.counters) {
      const m = matchOf(c.name);
      w.item(m, m.itemPrefix.counter, A.count, c.value, c.name);
      w.item(m, m.itemPrefix.counter, A.perSecond, c.perSecond, c.name);
      if (++n >= CHUNK_SERIES) {
        n = 0;
        yield;
      }
    }
    for (const t of g.timers) {
      const m = matchOf(t.name);
      const pre = m.itemPrefix.timers;
      w.item(m, pre, A.lower, t.min, t.name);
      w.item(m, pre, A.upper, t.max, t.name);
      w.item(m, pre, A.count, t.count, t.name);
      w.item(m, pre, A.countPs, t.perSecond, t.name);
      w.item(m, pre, A.mean, t.mean, t.name);
      w.item(m, pre, A.median, t.median, t.name);
      w.item(m, pre, A.std, t.stdDev, t.name);
      w.item(m, pre, A.sum, t.sum, t.name);
      w.item(m, pre, A.sumSquares, t.sumSquares, t.name);
      for (const p of t.percentiles) w.item(m, pre, aggregationBytes(p.name), p.value, t.name);
      n += 5;
      if (n >= CHUNK_SERIES) {
        n = 0;
        yield;
      }
    }
    for (const gp of g.gauges) {
      const m = matchOf(gp.name);
      w.item(m, m.itemPrefix.gauge, A.value, gp.value, gp.name);
      if (++n >= CHUNK_SERIES) {
        n = 0;
        yield;
      }
    }
    for (const sp of g.sets) {
      const m = matchOf(sp.name);
      w.item(m, m.itemPrefix.set, A.len, sp.size, sp.name);
      if (++n >= CHUNK_SERIES) {
        n = 0;
        yield;
      }
    }
    w.end();
  }
}
