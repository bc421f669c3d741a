import type { FlushSnapshot, SeriesIdentity } from '../../aggregator/snapshot.js';
import { FoldedTimer } from '../../aggregator/folded-timer.js';
import type { RawCounter, RawGauge, RawMessage, RawSet, RawTimer, TagMaps } from '../../wire/gostatsd.js';

interface Entry extends SeriesIdentity {
  /** Counter sum, or gauge value. */
  value: number;
  /** Timer values. */
  values: number[];
  /** Timer sampled count. */
  sampled: number;
  /** Set members. */
  members: Set<string>;
  /** A timer past the sender's timer-exact-values: its histogram (then `values` stays empty). */
  folded: FoldedTimer | undefined;
}

type Kind = 'counters' | 'gauges' | 'timers' | 'sets';
const KINDS: readonly Kind[] = ['counters', 'gauges', 'timers', 'sets'];

/** Rough heap cost of a folded timer's histogram (two signs of up to 160 buckets). */
const FOLDED_BYTES = 4096;

/** Rough heap cost of an entry beyond its strings and values, for the memory bound. */
const ENTRY_BYTES = 160;

function keyOf(id: SeriesIdentity): string {
  return id.name + '\n' + id.tagsKey;
}

function sizeOf(id: SeriesIdentity): number {
  let n = ENTRY_BYTES + 2 * (id.name.length + id.tagsKey.length);
  for (const t of id.tags) n += 2 * t.length + 16;
  return n;
}

/**
 * RawBatch holds forwarded data not yet delivered: per kind, per series (name and tags
 * key), the raw interval values, merged as gostatsd merges maps (counters add, gauges
 * take the newer value, timers concatenate values and add sampled counts, sets union).
 * Its size is estimated as it grows so that a bound can be kept.
 */
export class RawBatch {
  readonly #maps: Record<Kind, Map<string, Entry>> = {
    counters: new Map(),
    gauges: new Map(),
    timers: new Map(),
    sets: new Map(),
  };
  #bytes = 0;

  /** Series held, all kinds. */
  get series(): number {
    let n = 0;
    for (const k of KINDS) n += this.#maps[k].size;
    return n;
  }

  /** Estimated heap bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  get empty(): boolean {
    return this.series === 0;
  }

  /**
   * Adds what a flushed interval received: counters with a non-zero sum, gauges set
   * during the interval, timers and sets with values. A series that would take the batch
   * past `maxBytes` is left out. With `keep`, only the names it accepts are taken (one
   * shard of the tier). Returns how many series were left out by the bound.
   */
  addSnapshot(s: FlushSnapshot, maxBytes: number, keep?: (name: string) => boolean): number {
    let dropped = 0;
    const intervalStart = s.timestampMs - Math.round(s.intervalSeconds * 1000);
    const mine = (name: string): boolean => keep === undefined || keep(name);
    for (const c of s.counters)
      if (c.value !== 0 && mine(c.name) && !this.#add('counters', c, c.value, [], 0, undefined, maxBytes)) dropped++;
    for (const g of s.gauges)
      if (g.lastSeenMs >= intervalStart && mine(g.name) && !this.#add('gauges', g, g.value, [], 0, undefined, maxBytes))
        dropped++;
    for (const t of s.timers)
      if (
        (t.values.length > 0 || t.sampledCount > 0) &&
        mine(t.name) &&
        !this.#add(
          'timers',
          t,
          0,
          t.histogram === undefined ? t.values : [],
          t.sampledCount,
          undefined,
          maxBytes,
          t.histogram as FoldedTimer | undefined,
        )
      )
        dropped++;
    for (const x of s.sets)
      if (x.size > 0 && mine(x.name) && !this.#add('sets', x, 0, [], 0, x.members, maxBytes)) dropped++;
    return dropped;
  }

  /**
   * Merges an older batch into this one (data that could not be delivered goes back in
   * front of newer data: a gauge keeps this batch's value). Returns the series left out
   * by the bound.
   */
  mergeOlder(older: RawBatch, maxBytes: number): number {
    let dropped = 0;
    for (const kind of KINDS) {
      for (const e of older.#maps[kind].values()) {
        if (kind === 'gauges' && this.#maps.gauges.has(keyOf(e))) continue;
        if (!this.#add(kind, e, e.value, e.values, e.sampled, e.members, maxBytes, e.folded)) dropped++;
      }
    }
    return dropped;
  }

  #add(
    kind: Kind,
    id: SeriesIdentity,
    value: number,
    values: ArrayLike<number>,
    sampled: number,
    members: ReadonlySet<string> | undefined,
    maxBytes: number,
    folded?: FoldedTimer,
  ): boolean {
    const map = this.#maps[kind];
    const key = keyOf(id);
    let e = map.get(key);
    // A histogram is counted once, when the entry starts to hold one.
    let grow = 8 * values.length + (folded !== undefined && e?.folded === undefined ? FOLDED_BYTES : 0);
    if (members !== undefined)
      for (const m of members) if (e === undefined || !e.members.has(m)) grow += 2 * m.length + 40;
    if (e === undefined) grow += sizeOf(id);
    if (this.#bytes + grow > maxBytes) return false;
    this.#bytes += grow;
    if (e === undefined) {
      e = {
        name: id.name,
        tags: id.tags,
        host: id.host,
        tagsKey: id.tagsKey,
        value: 0,
        values: [],
        sampled: 0,
        members: new Set(),
        folded: undefined,
      };
      map.set(key, e);
    }
    if (folded !== undefined || e.folded !== undefined) {
      // Bucket-wise: the batch's own copy, so the snapshot's histogram is never changed.
      if (e.folded === undefined) {
        e.folded = FoldedTimer.of(e.values, e.values.length, folded!.maxBuckets, folded!.exactLimit);
        e.values = [];
      }
      if (folded !== undefined) e.folded.merge(folded);
      else for (let i = 0; i < values.length; i++) e.folded.add(values[i]!);
      e.sampled += sampled;
      return true;
    }
    if (kind === 'counters') e.value += value;
    else if (kind === 'gauges') e.value = value;
    for (let i = 0; i < values.length; i++) e.values.push(values[i]!);
    e.sampled += sampled;
    if (members !== undefined) for (const m of members) e.members.add(m);
    return true;
  }

  /** Splits the batch into batches of at most `maxSeries` series each (itself when it fits). */
  split(maxSeries: number): RawBatch[] {
    if (this.series <= maxSeries) return [this];
    const parts: RawBatch[] = [];
    let part = new RawBatch();
    for (const kind of KINDS) {
      for (const [key, e] of this.#maps[kind]) {
        if (part.series >= maxSeries) {
          parts.push(part);
          part = new RawBatch();
        }
        part.#maps[kind].set(key, e);
        part.#bytes += sizeOf(e) + 8 * e.values.length + (e.folded === undefined ? 0 : FOLDED_BYTES);
      }
    }
    parts.push(part);
    return parts;
  }

  /** The batch as a `RawMessageV2` (null-prototype maps: any name is a plain key). */
  toMessage(): RawMessage {
    return {
      Counters: group<RawCounter>(this.#maps.counters, (e) => ({
        Tags: [...e.tags],
        Hostname: e.host,
        Value: e.value,
      })),
      Gauges: group<RawGauge>(this.#maps.gauges, (e) => ({ Tags: [...e.tags], Hostname: e.host, Value: e.value })),
      Timers: group<RawTimer>(this.#maps.timers, (e) => ({
        Tags: [...e.tags],
        Hostname: e.host,
        SampleCount: e.sampled,
        Values: e.folded === undefined ? e.values : Array.from(e.folded.representatives(e.folded.exactLimit)),
        ...(e.folded === undefined ? {} : { Histogram: e.folded.toWire() }),
      })),
      Sets: group<RawSet>(this.#maps.sets, (e) => ({ Tags: [...e.tags], Hostname: e.host, Values: [...e.members] })),
    };
  }
}

function group<T>(entries: Map<string, Entry>, raw: (e: Entry) => T): TagMaps<T> {
  const byName = Object.create(null) as TagMaps<T>;
  for (const e of entries.values()) {
    let tagMap = byName[e.name];
    if (tagMap === undefined || tagMap === null)
      byName[e.name] = tagMap = { TagMap: Object.create(null) as Record<string, T> };
    tagMap.TagMap[e.tagsKey] = raw(e);
  }
  return byName;
}
