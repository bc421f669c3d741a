import { hadSamples, seriesOf, type FlushSnapshot } from '../../aggregator/snapshot.js';
import { CHUNK_SERIES, runToEnd } from '../../shared/cooperative.js';
import { gostatsdPercentileName } from '../shared/gostatsd-names.js';
import { goJsonNumber } from './go-json.js';
import type { SepMatcher, SepMismatch } from './sep-matcher.js';
import type { BufferPool } from '../shared/buffer-pool.js';

/** Why items were left out of the documents. */
export type DropReason = 'non_finite' | 'too_large';

/**
 * Why a series is not in any document: its name is outside `cluster_regexp`/`sep_regexp`
 * (`unmatched_name`), has no SEP id inside the cluster (`sep_not_found`), or ends with the
 * cluster (`no_statistics`).
 */
export type LeftOutReason = 'unmatched_name' | SepMismatch;

/** One JSON document for one SEP instance, ready to send as one datagram. */
export interface SepDocument {
  readonly sep: string;
  /**
   * The document's bytes. With a {@link BufferPool} pool they live in a pooled
   * buffer: valid until `release()` is called, after which the pool reuses them.
   */
  readonly payload: Buffer;
  /** Number of items inside, for accounting. */
  readonly items: number;
  /** Gives the payload's buffer back to its pool (a no-op without one). Call once, when sent. */
  release(): void;
}

/** What {@link encodeSnapshot} produced. */
export interface EncodeResult {
  readonly documents: SepDocument[];
  /** Items of matched series left out, by reason (counted per item). */
  readonly dropped: Record<DropReason, number>;
  /**
   * Series left out that received samples in this interval, by reason: each counts once
   * per interval it had samples in, not again while it is reported idle until it expires.
   */
  readonly leftOut: Record<LeftOutReason, number>;
  /** Every series left out of this flush, idle ones included. */
  readonly leftOutSeries: number;
  /** One example metric name per reason, for logs. */
  readonly examples: Partial<Record<DropReason | LeftOutReason, string>>;
}

/** Series kinds in an item reference (`index << 2 | kind`), in the reference's order. */
/** The kind of a series in a {@link SeriesRef}. */
const COUNTER = 0;
const TIMER = 1;
const GAUGE = 2;
const SET = 3;

/**
 * A series of the snapshot packed in one int32 (so grouping sorts plain numbers, not
 * objects): bits 0-1 its kind (COUNTER … SET), the other bits its index in that kind's
 * array of the snapshot. 2^29 series per kind at most.
 */
type SeriesRef = number;
const packRef = (kind: number, index: number): SeriesRef => (index << 2) | kind;
const refKind = (ref: SeriesRef): number => ref & 3;
const refIndex = (ref: SeriesRef): number => ref >> 2;

/**
 * GroupScratch holds the arrays a flush groups its series by SEP in. They are parallel
 * columns, one row per matched series: row `j` is the series `refs[j]` (a packed
 * {@link SeriesRef}), its SEP group `groupOf[j]` and its match (cluster and statistic
 * numbers of the SepMatcher). A counting sort by group copies the rows into the `sorted*`
 * columns. Kept by the backend from flush to flush, so grouping 100,000 series allocates
 * nothing once the arrays have grown.
 */
export class GroupScratch {
  /** Rows in snapshot order: series, SEP group, cluster and statistic. */
  refs = new Int32Array(0);
  groupOf = new Int32Array(0);
  clusterOf = new Int32Array(0);
  statisticOf = new Int32Array(0);
  /** The same, sorted by group (stable, so snapshot order within a group). */
  sortedRefs = new Int32Array(0);
  sortedCluster = new Int32Array(0);
  sortedStatistic = new Int32Array(0);
  /** Per group: item count, then start offset. */
  groupStart = new Int32Array(0);

  /** Makes room for `series` series and `groups` groups. */
  fit(series: number, groups: number): void {
    if (this.refs.length < series) {
      const n = series + (series >> 2) + 16;
      this.refs = new Int32Array(n);
      this.groupOf = new Int32Array(n);
      this.clusterOf = new Int32Array(n);
      this.statisticOf = new Int32Array(n);
      this.sortedRefs = new Int32Array(n);
      this.sortedCluster = new Int32Array(n);
      this.sortedStatistic = new Int32Array(n);
    }
    if (this.groupStart.length < groups + 1) this.groupStart = new Int32Array(groups + (groups >> 2) + 16);
  }
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
  readonly #pool: BufferPool | undefined;
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
    pool: BufferPool | undefined,
  ) {
    this.#max = maxBytes;
    this.#pool = pool !== undefined && pool.size >= maxBytes ? pool : undefined;
    this.#buf = this.#pool?.take() ?? Buffer.allocUnsafe(maxBytes);
    this.#tail = Buffer.from(`,"unixTimestamp":${unixSeconds}}`);
    this.#emit = emit;
    this.#onDrop = onDrop;
  }

  /** Starts the documents of one SEP; `head` is `{"sep":…,"metrics":[` as UTF-8. */
  begin(sep: string, head: Buffer): void {
    this.#sep = sep;
    this.#head = head;
    this.#restart();
  }

  /**
   * Writes one item: `prefix` (the cluster's, up to `"aggregationType":"`), the
   * aggregation, the statistic's middle bytes `arena[middleStart, middleEnd)`, the value.
   */
  item(
    prefix: Buffer,
    aggregation: Buffer,
    arena: Buffer,
    middleStart: number,
    middleEnd: number,
    value: number,
    name: string,
  ): void {
    if (!Number.isFinite(value)) {
      this.#onDrop('non_finite', name);
      return;
    }
    // Small integers (counts, most gauges) are written digit by digit; others via String().
    const int = value === (value | 0) && !Object.is(value, -0);
    const v = int ? '' : goJsonNumber(value);
    const vLen = int ? intLength(value) : v.length;
    const middle = middleEnd - middleStart;
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
    // A byte loop: Buffer#copy with offsets makes a view object per call (per item).
    let o = this.#off;
    for (let k = middleStart; k < middleEnd; k++) b[o++] = arena[k]!;
    this.#off = o;
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

  /** A promise to wait for before writing more, when the pool has too many documents out. */
  backpressure(): Promise<void> | undefined {
    const pool = this.#pool;
    return pool !== undefined && pool.exhausted ? pool.whenReturned() : undefined;
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
 * Turns one consolidated snapshot into SepAgent documents (docs/semantics.md#items-per-series, #documents):
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
 * back with `release()` once a document is sent. `scratch` keeps the grouping arrays for
 * the next flush.
 */
export function* encodeSnapshotChunked(
  snapshot: FlushSnapshot,
  matcher: SepMatcher,
  maxBytes: number,
  onDocument?: (doc: SepDocument) => void,
  pool?: BufferPool,
  scratch?: GroupScratch,
  onLeftOut?: (name: string, reason: LeftOutReason) => void,
): Generator<Promise<void> | void, EncodeResult> {
  const dropped: Record<DropReason, number> = { non_finite: 0, too_large: 0 };
  const leftOut: Record<LeftOutReason, number> = { unmatched_name: 0, sep_not_found: 0, no_statistics: 0 };
  let leftOutSeries = 0;
  const examples: Partial<Record<DropReason | LeftOutReason, string>> = {};
  const drop = (reason: DropReason, name: string, n = 1): void => {
    dropped[reason] += n;
    examples[reason] ??= name;
  };

  // Group the series by SEP id, keeping the reference's type order within each SEP:
  // a counting sort of item references, groups numbered in order of first appearance.
  const g = scratch ?? new GroupScratch();
  const total = seriesOf(snapshot);
  g.fit(total, 0);
  const groupIds = new Map<string, number>();
  const groupSep: string[] = [];
  const groupHead: Buffer[] = [];
  const { refs, groupOf, clusterOf, statisticOf } = g;
  let k = 0;
  let n = 0;
  const { counters, timers, gauges, sets } = snapshot;
  /** Whether the series received samples in this interval (asked only of series left out). */
  const hadSamplesAt = (kind: number, index: number): boolean =>
    kind === COUNTER
      ? hadSamples(snapshot, counters[index]!)
      : kind === TIMER
        ? timers[index]!.count > 0
        : kind === GAUGE
          ? hadSamples(snapshot, gauges[index]!)
          : sets[index]!.size > 0;
  const scan = (name: string, kind: number, index: number): void => {
    const c = matcher.code(name);
    if (c < 0) {
      const m = matcher.mismatchOf(c);
      const why = m === 'ignored' ? 'unmatched_name' : m;
      leftOutSeries++;
      if (hadSamplesAt(kind, index)) {
        leftOut[why]++;
        examples[why] ??= name;
        onLeftOut?.(name, why);
      }
      return;
    }
    const clusterId = matcher.clusterOf(c);
    const cluster = matcher.cluster(clusterId);
    let id = groupIds.get(cluster.instanceId);
    if (id === undefined) {
      id = groupSep.length;
      groupIds.set(cluster.instanceId, id);
      groupSep.push(cluster.instanceId);
      groupHead.push(cluster.documentHead);
    }
    refs[k] = packRef(kind, index);
    groupOf[k] = id;
    clusterOf[k] = clusterId;
    statisticOf[k] = matcher.statisticOf(c);
    k++;
  };
  for (let i = 0; i < counters.length; i++) {
    scan(counters[i]!.name, COUNTER, i);
    if (++n % CHUNK_SERIES === 0) yield;
  }
  for (let i = 0; i < timers.length; i++) {
    scan(timers[i]!.name, TIMER, i);
    if (++n % CHUNK_SERIES === 0) yield;
  }
  for (let i = 0; i < gauges.length; i++) {
    scan(gauges[i]!.name, GAUGE, i);
    if (++n % CHUNK_SERIES === 0) yield;
  }
  for (let i = 0; i < sets.length; i++) {
    scan(sets[i]!.name, SET, i);
    if (++n % CHUNK_SERIES === 0) yield;
  }
  const groups = groupSep.length;
  g.fit(total, groups);
  const start = g.groupStart;
  start.fill(0, 0, groups + 1);
  for (let j = 0; j < k; j++) start[groupOf[j]! + 1]!++;
  for (let q = 1; q <= groups; q++) start[q]! += start[q - 1]!;
  const { sortedRefs, sortedCluster, sortedStatistic } = g;
  // Scatter: start[q] walks from group q's first slot to group q + 1's.
  for (let j = 0; j < k; j++) {
    const pos = start[groupOf[j]!]!++;
    sortedRefs[pos] = refs[j]!;
    sortedCluster[pos] = clusterOf[j]!;
    sortedStatistic[pos] = statisticOf[j]!;
  }

  const documents: SepDocument[] = [];
  const emit = onDocument ?? ((d: SepDocument): void => void documents.push(d));
  const w = new DocumentWriter(maxBytes, Math.floor(snapshot.timestampMs / 1000), emit, drop, pool);
  try {
    // After the scatter, start[q] is where group q + 1 begins.
    let from = 0;
    for (let q = 0; q < groups; q++) {
      const to = start[q]!;
      w.begin(groupSep[q]!, groupHead[q]!);
      yield* writeItems(w, snapshot, matcher, g, from, to);
      w.end();
      from = to;
    }
  } finally {
    w.close();
  }
  return { documents, dropped, leftOut, leftOutSeries, examples };
}

/** Writes the items of the sorted series `from .. to` of `g` (one SEP's, in the reference's order). */
function* writeItems(
  w: DocumentWriter,
  snapshot: FlushSnapshot,
  matcher: SepMatcher,
  g: GroupScratch,
  from: number,
  to: number,
): Generator<Promise<void> | void, void> {
  const { sortedRefs: refs, sortedCluster, sortedStatistic } = g;
  // Classifying is over: the arena no longer changes during this flush.
  const arena = matcher.arena;
  let n = 0;
  for (let j = from; j < to; j++) {
    const wait = w.backpressure();
    if (wait !== undefined) yield wait;
    const ref = refs[j]!;
    const i = refIndex(ref);
    const prefix = matcher.cluster(sortedCluster[j]!).itemPrefix;
    const st = sortedStatistic[j]!;
    const m0 = matcher.middleStart(st);
    const m1 = matcher.middleEnd(st);
    switch (refKind(ref)) {
      case COUNTER: {
        const c = snapshot.counters[i]!;
        w.item(prefix.counter, A.count, arena, m0, m1, c.value, c.name);
        w.item(prefix.counter, A.perSecond, arena, m0, m1, c.perSecond, c.name);
        n++;
        break;
      }
      case TIMER: {
        const t = snapshot.timers[i]!;
        const pre = prefix.timers;
        w.item(pre, A.lower, arena, m0, m1, t.min, t.name);
        w.item(pre, A.upper, arena, m0, m1, t.max, t.name);
        w.item(pre, A.count, arena, m0, m1, t.count, t.name);
        w.item(pre, A.countPs, arena, m0, m1, t.perSecond, t.name);
        w.item(pre, A.mean, arena, m0, m1, t.mean, t.name);
        w.item(pre, A.median, arena, m0, m1, t.median, t.name);
        w.item(pre, A.std, arena, m0, m1, t.stdDev, t.name);
        w.item(pre, A.sum, arena, m0, m1, t.sum, t.name);
        w.item(pre, A.sumSquares, arena, m0, m1, t.sumSquares, t.name);
        for (const p of t.percentiles)
          w.item(pre, aggregationBytes(gostatsdPercentileName(p)), arena, m0, m1, p.value, t.name);
        n += 5;
        break;
      }
      case GAUGE: {
        const gp = snapshot.gauges[i]!;
        w.item(prefix.gauge, A.value, arena, m0, m1, gp.value, gp.name);
        n++;
        break;
      }
      default: {
        const sp = snapshot.sets[i]!;
        w.item(prefix.set, A.len, arena, m0, m1, sp.size, sp.name);
        n++;
      }
    }
    if (n >= CHUNK_SERIES) {
      n = 0;
      yield;
    }
  }
}
