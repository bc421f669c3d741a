import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { CHUNK_SERIES, runToEnd } from '../../aggregator/interval-cut.js';
import { goJsonNumber, goJsonString } from './go-json.js';
import type { SepMatch, SepMatcher, SepMismatch, SepMetricType } from './sep-matcher.js';

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
  /** Up to a few example names per drop reason, for logs. */
  readonly examples: Partial<Record<DropReason, string>>;
}

class Collector {
  readonly bySep = new Map<string, string[]>();
  readonly dropped: Record<DropReason, number> = { sep_not_found: 0, no_statistics: 0, non_finite: 0, too_large: 0 };
  readonly examples: Partial<Record<DropReason, string>> = {};
  readonly #ts: string;

  constructor(unixSeconds: number) {
    this.#ts = String(unixSeconds);
  }

  drop(reason: DropReason, name: string, n = 1): void {
    this.dropped[reason] += n;
    this.examples[reason] ??= name;
  }

  add(m: SepMatch, type: SepMetricType, aggregation: string, value: number, name: string): void {
    if (!Number.isFinite(value)) {
      this.drop('non_finite', name);
      return;
    }
    let list = this.bySep.get(m.instanceId);
    if (list === undefined) {
      list = [];
      this.bySep.set(m.instanceId, list);
    }
    list.push(`${m.itemPrefix[type]}${aggregation}${m.itemMiddle}${goJsonNumber(value)},"unixTimestamp":${this.#ts}}`);
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

/** {@link encodeSnapshot} as a generator that yields every few hundred series, for {@link runChunked}. */
export function* encodeSnapshotChunked(
  snapshot: FlushSnapshot,
  matcher: SepMatcher,
  maxBytes: number,
): Generator<void, EncodeResult> {
  let n = 0;
  const col = new Collector(Math.floor(snapshot.timestampMs / 1000));
  const match = (name: string, items: number): SepMatch | undefined => {
    const c = matcher.classify(name);
    if (c === 'ignored') return undefined;
    if (typeof c === 'string') {
      col.drop(c, name, items);
      return undefined;
    }
    return c;
  };

  for (const s of snapshot.counters) {
    const m = match(s.name, 2);
    if (m === undefined) continue;
    col.add(m, 'counter', 'count', s.value, s.name);
    col.add(m, 'counter', 'per_second', s.perSecond, s.name);
    if (++n % CHUNK_SERIES === 0) yield;
  }
  for (const t of snapshot.timers) {
    const m = match(t.name, 9 + t.percentiles.length);
    if (m === undefined) continue;
    col.add(m, 'timers', 'lower', t.min, t.name);
    col.add(m, 'timers', 'upper', t.max, t.name);
    col.add(m, 'timers', 'count', t.count, t.name);
    col.add(m, 'timers', 'count_ps', t.perSecond, t.name);
    col.add(m, 'timers', 'mean', t.mean, t.name);
    col.add(m, 'timers', 'median', t.median, t.name);
    col.add(m, 'timers', 'std', t.stdDev, t.name);
    col.add(m, 'timers', 'sum', t.sum, t.name);
    col.add(m, 'timers', 'sum_squares', t.sumSquares, t.name);
    for (const p of t.percentiles) col.add(m, 'timers', p.name, p.value, t.name);
    if (++n % (CHUNK_SERIES >> 2) === 0) yield;
  }
  for (const g of snapshot.gauges) {
    const m = match(g.name, 1);
    if (m !== undefined) col.add(m, 'gauge', 'value', g.value, g.name);
    if (++n % CHUNK_SERIES === 0) yield;
  }
  for (const s of snapshot.sets) {
    const m = match(s.name, 1);
    if (m !== undefined) col.add(m, 'set', 'len', s.size, s.name);
    if (++n % CHUNK_SERIES === 0) yield;
  }

  const documents: SepDocument[] = [];
  for (const [sep, items] of col.bySep) {
    const head = `{"sep":${goJsonString(sep)},"metrics":[`;
    const headBytes = Buffer.byteLength(head);
    let batch: string[] = [];
    let size = headBytes + 2;
    const emit = (): void => {
      if (batch.length === 0) return;
      documents.push({ sep, payload: Buffer.from(`${head}${batch.join(',')}]}`), items: batch.length });
      batch = [];
      size = headBytes + 2;
    };
    for (const item of items) {
      const itemBytes = Buffer.byteLength(item);
      if (headBytes + 2 + itemBytes > maxBytes) {
        col.drop('too_large', sep);
        continue;
      }
      const extra = itemBytes + (batch.length > 0 ? 1 : 0);
      if (size + extra > maxBytes) emit();
      size += itemBytes + (batch.length > 0 ? 1 : 0);
      batch.push(item);
    }
    emit();
    yield;
  }
  return { documents, dropped: col.dropped, examples: col.examples };
}
