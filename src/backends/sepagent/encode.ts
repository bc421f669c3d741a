import type { CounterPoint, FlushSnapshot, GaugePoint, SetPoint, TimerPoint } from '../../aggregator/snapshot.js';
import { CHUNK_SERIES, runToEnd } from '../../aggregator/interval-cut.js';
import { goJsonNumber, goJsonString } from './go-json.js';
import type { SepMatch, SepMatcher, SepMismatch } from './sep-matcher.js';

/** Why items were left out of the documents. */
export type DropReason = SepMismatch | 'non_finite' | 'too_large';

/** One JSON document for one SEP instance, ready to send as one datagram. */
export interface SepDocument {
  readonly sep: string;
  readonly payload: Buffer;
  /** Number of items inside, for accounting. */
  readonly items: number;
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
  readonly #buf: Buffer;
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
  ) {
    this.#max = maxBytes;
    this.#buf = Buffer.allocUnsafe(maxBytes);
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
    const len = prefix.length + aggregation.length + m.itemMiddle.length + vLen + this.#tail.length;
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
    b.set(m.itemMiddle, this.#off);
    this.#off += m.itemMiddle.length;
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
    const payload = Buffer.allocUnsafe(this.#off);
    b.copy(payload, 0, 0, this.#off);
    this.#emit({ sep: this.#sep, payload, items: this.#items });
    this.#items = 0;
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
 * (and `documents` stays empty), so a large flush never holds all its datagrams at once.
 */
export function* encodeSnapshotChunked(
  snapshot: FlushSnapshot,
  matcher: SepMatcher,
  maxBytes: number,
  onDocument?: (doc: SepDocument) => void,
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
  const w = new DocumentWriter(maxBytes, Math.floor(snapshot.timestampMs / 1000), emit, drop);
  // Names in a group were classified above, so these look-ups hit the matcher's cache.
  const matchOf = (name: string): SepMatch => matcher.classify(name) as SepMatch;
  n = 0;
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
  return { documents, dropped, examples };
}
