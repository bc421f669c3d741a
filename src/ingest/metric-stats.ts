import { fnv1a } from '../shared/hash.js';

/** One name's count in a {@link TopK}: `count` over-estimates by at most `error`. */
export interface Counted {
  readonly key: string;
  readonly count: number;
  readonly error: number;
}

interface Slot<P> {
  key: string;
  count: number;
  error: number;
  payload: P;
  /** Its place in the heap. */
  at: number;
}

/**
 * The Space-Saving heavy-hitters sketch (Metwally, Agrawal, El Abbadi, 2005): at most
 * `capacity` keys; a new key takes the place of the smallest one and inherits its count
 * as its possible error. Any key whose true count exceeds total/capacity is held, and a
 * held key's count is at most `error` above the truth. Each held key carries a payload
 * (made by `fresh`, replaced when the slot changes hands). The slots form a min-heap by
 * count, so an add is O(log capacity) whether or not it evicts.
 */
export class TopK<P = undefined> {
  readonly capacity: number;
  readonly #slots = new Map<string, Slot<P>>();
  /** Min-heap by count: `heap[0]` is the slot a new key replaces. */
  readonly #heap: Array<Slot<P>> = [];
  readonly #fresh: () => P;

  constructor(capacity: number, fresh: () => P) {
    this.capacity = capacity;
    this.#fresh = fresh;
  }

  /** Adds `weight` to `key`; returns its slot's payload. */
  add(key: string, weight: number): P {
    let s = this.#slots.get(key);
    if (s === undefined) {
      const heap = this.#heap;
      if (heap.length < this.capacity) {
        s = { key, count: weight, error: 0, payload: this.#fresh(), at: heap.length };
        heap.push(s);
        this.#slots.set(key, s);
        this.#up(s.at);
        return s.payload;
      } else {
        // The smallest slot changes hands: its count becomes the newcomer's error.
        s = heap[0]!;
        this.#slots.delete(s.key);
        s.key = key;
        s.error = s.count;
        s.payload = this.#fresh();
      }
      this.#slots.set(key, s);
    }
    s.count += weight;
    this.#down(s.at);
    return s.payload;
  }

  /** Moves a new slot at `i` up the heap while its parent holds more. */
  #up(i: number): void {
    const h = this.#heap;
    const s = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.count <= s.count) break;
      h[i] = h[p]!;
      h[i]!.at = i;
      i = p;
    }
    h[i] = s;
    s.at = i;
  }

  /** Moves the slot at `i` down the heap while a child holds less (its count only grows). */
  #down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const s = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.count < h[l]!.count ? r : l;
      if (h[c]!.count >= s.count) break;
      h[i] = h[c]!;
      h[i]!.at = i;
      i = c;
    }
    h[i] = s;
    s.at = i;
  }

  /** The held keys, largest count first. */
  entries(): Array<Counted & { readonly payload: P }> {
    return [...this.#slots.values()]
      .map((s) => ({ key: s.key, count: s.count, error: s.error, payload: s.payload }))
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
  }
}

/**
 * An estimate of how many distinct values a stream holds, in bounded memory: the `k`
 * smallest 32-bit hashes seen (a KMV sketch, Bar-Yossef et al. 2002). Exact below `k`
 * distinct values; above, `(k - 1) / (k-th smallest hash / 2^32)`, with a relative
 * standard error of about `1 / sqrt(k - 2)` (13 % with the default 64).
 */
export class Distinct {
  readonly #k: number;
  /** The smallest hashes, sorted ascending. */
  #h: number[] = [];

  constructor(k = 64) {
    this.#k = k;
  }

  add(value: string): void {
    // FNV-1a of similar strings (`/p1`, `/p2`) differs in few bits: mix it (MurmurHash3's
    // finaliser) so the smallest hashes are a uniform sample.
    let h = fnv1a(value);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    this.addHash((h ^ (h >>> 16)) >>> 0);
  }

  addHash(h: number): void {
    const a = this.#h;
    if (a.length === this.#k && h >= a[a.length - 1]!) return;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    if (a[lo] === h) return;
    a.splice(lo, 0, h);
    if (a.length > this.#k) a.pop();
  }

  /** Adds every value `other` saw (the union of the two streams). */
  merge(other: Distinct): void {
    for (const h of other.#h) this.addHash(h);
  }

  estimate(): number {
    const a = this.#h;
    if (a.length < this.#k) return a.length;
    return Math.round(((this.#k - 1) * 2 ** 32) / (a[a.length - 1]! + 1));
  }
}

/** The tag keys of one metric name and their distinct values. */
class TagKeys {
  readonly byKey = new Map<string, Distinct>();
}

/** One window of counts. */
class Window {
  readonly samples: TopK;
  readonly series: TopK<TagKeys>;
  readonly capped: TopK;
  constructor(
    readonly startMs: number,
    names: number,
  ) {
    this.samples = new TopK(names, () => undefined);
    this.series = new TopK(names, () => new TagKeys());
    this.capped = new TopK(names, () => undefined);
  }
}

/** What {@link MetricStats.report} returns (`/debug/metrics`, `top`, the status page). */
export interface MetricStatsReport {
  /** The time the counts cover, seconds. */
  readonly windowSeconds: number;
  /** One in this many samples of a known series is counted (with this weight). */
  readonly sampleEvery: number;
  /** Names by samples received. */
  readonly bySamples: readonly Counted[];
  /** Names by new series created, each with its tag keys by distinct values. */
  readonly bySeries: ReadonlyArray<Counted & { readonly tagKeys: ReadonlyArray<{ key: string; values: number }> }>;
  /** Names by samples refused at `max-series`. */
  readonly byCapped: readonly Counted[];
}

/** Options of {@link MetricStats}. */
export interface MetricStatsOptions {
  /** Length of one window; the report covers the current and the previous one (default 60 s). */
  windowMs?: number;
  /** Names each sketch holds (default 200). */
  names?: number;
  /** Tag keys followed per name (default 16). */
  tagKeys?: number;
  /** One in this many samples of a known series is counted (default 512). */
  sampleEvery?: number;
}

/** What the ingester reports per-metric statistics to (a {@link MetricStats}, or an ingest worker's relay of it). */
export interface MetricStatsSink {
  /** One in this many samples of a known series is reported (with this weight). */
  readonly sampleEvery: number;
  samples(name: string, weight: number, nowMs: number): void;
  newSeries(name: string, tags: readonly string[], nowMs: number): void;
  capped(name: string, nowMs: number): void;
}

/**
 * Per-metric statistics in bounded memory (heavy-hitters sketches, no map of every name):
 * which names receive the most samples, which create the most series and with which tag
 * keys' values, which the series cap refuses. The ingester reports every new series and
 * every capped sample, a known series' samples one in {@link sampleEvery} (weighted), so
 * the receive path pays a counter decrement per line.
 */
export class MetricStats implements MetricStatsSink {
  readonly sampleEvery: number;
  readonly #windowMs: number;
  readonly #names: number;
  readonly #tagKeys: number;
  #current: Window;
  #previous: Window | undefined;

  constructor(nowMs: number, opts: MetricStatsOptions = {}) {
    this.sampleEvery = opts.sampleEvery ?? 512;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#names = opts.names ?? 200;
    this.#tagKeys = opts.tagKeys ?? 16;
    this.#current = new Window(nowMs, this.#names);
  }

  #window(nowMs: number): Window {
    const c = this.#current;
    if (nowMs - c.startMs >= this.#windowMs) {
      // A gap of two windows or more leaves nothing to keep.
      this.#previous = nowMs - c.startMs >= 2 * this.#windowMs ? undefined : c;
      this.#current = new Window(nowMs - ((nowMs - c.startMs) % this.#windowMs), this.#names);
    }
    return this.#current;
  }

  /** `weight` samples of `name`. */
  samples(name: string, weight: number, nowMs: number): void {
    this.#window(nowMs).samples.add(name, weight);
  }

  /** A new series of `name` with these tags (`key:value` or a bare `key`). */
  newSeries(name: string, tags: readonly string[], nowMs: number): void {
    const keys = this.#window(nowMs).series.add(name, 1).byKey;
    for (const t of tags) {
      const colon = t.indexOf(':');
      const key = colon < 0 ? t : t.slice(0, colon);
      let d = keys.get(key);
      if (d === undefined) {
        if (keys.size >= this.#tagKeys) continue;
        keys.set(key, (d = new Distinct()));
      }
      d.add(colon < 0 ? '' : t.slice(colon + 1));
    }
  }

  /** A sample of `name` refused because it would create a series past `max-series`. */
  capped(name: string, nowMs: number): void {
    this.#window(nowMs).capped.add(name, 1);
  }

  /** The top `limit` names of each kind over the current and the previous window. */
  report(nowMs: number, limit = 10): MetricStatsReport {
    const cur = this.#window(nowMs);
    const prev = this.#previous;
    const merged = (pick: (w: Window) => TopK<unknown>): Counted[] => {
      const m = new Map<string, { count: number; error: number }>();
      for (const w of prev === undefined ? [cur] : [prev, cur]) {
        for (const e of pick(w).entries()) {
          const x = m.get(e.key) ?? { count: 0, error: 0 };
          x.count += e.count;
          x.error += e.error;
          m.set(e.key, x);
        }
      }
      return [...m]
        .map(([key, v]) => ({ key, ...v }))
        .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
        .slice(0, limit);
    };
    const tagKeysOf = (prev === undefined ? [cur] : [prev, cur]).map(
      (w) => new Map(w.series.entries().map((e) => [e.key, e.payload])),
    );
    const bySeries = merged((w) => w.series).map((c) => {
      const keys = new Map<string, Distinct>();
      for (const held of tagKeysOf) {
        for (const [k, d] of held.get(c.key)?.byKey ?? []) {
          const into = keys.get(k) ?? new Distinct();
          into.merge(d);
          keys.set(k, into);
        }
      }
      const tagKeys = [...keys]
        .map(([key, d]) => ({ key, values: d.estimate() }))
        .sort((a, b) => b.values - a.values || (a.key < b.key ? -1 : 1));
      return { ...c, tagKeys };
    });
    return {
      windowSeconds: (nowMs - (prev ?? cur).startMs) / 1000,
      sampleEvery: this.sampleEvery,
      bySamples: merged((w) => w.samples),
      bySeries,
      byCapped: merged((w) => w.capped),
    };
  }
}
