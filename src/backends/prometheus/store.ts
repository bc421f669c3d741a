import { EnvoyTagExtractor } from '../../shared/envoy-tags.js';
import { IdentityMap } from '../../aggregator/identity-map.js';
import { hadSamples, type FlushSnapshot, type SeriesIdentity } from '../../aggregator/snapshot.js';
import type { ExpiryConfig } from '../../aggregator/in-memory-aggregator.js';
import { CHUNK_SERIES, runToEnd } from '../../shared/cooperative.js';
import { FoldedTimer } from '../../aggregator/folded-timer.js';
import type { MappingResult, MatchMetricType, MetricMapper, NativeHistogramOptions, Objective } from './mapping.js';
import { escapeMetricName, tagLabel } from './names.js';

/** The Prometheus type a family is exposed as. */
export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary';

/**
 * Why a StatsD series got no Prometheus series. Each is a `reason` of
 * `statsd_sepagent_prometheus_dropped_total`.
 */
export type DropReason =
  /** A mapping's `action: drop`. */
  | 'mapping_drop'
  /** The mapped name expanded to nothing. */
  | 'empty_metric_name'
  /** The name is already a family of another type. */
  | 'type_conflict'
  /** The family already exists with other label names. */
  | 'label_conflict'
  /** A sample name the family would write is already another family's (`x_count` vs summary `x`). */
  | 'name_conflict'
  /** A label the type reserves (`le` on a histogram, `quantile` on a summary). */
  | 'reserved_label'
  /** A counter interval that went down: Prometheus counters only rise. */
  | 'negative_counter'
  /** The exposition already holds `max-series` series. */
  | 'max_series';

/** One exposed series: its rendered labels and its cumulative state. */
export interface PromSeries {
  /** Labels as `a="1",b="2"` in label-name order (`''` without labels). */
  readonly labelPairs: string;
  /** The same labels as data (name, raw value), sorted by name: for remote write. */
  readonly labels: ReadonlyArray<readonly [string, string]>;
  /** Counter total or gauge value; histogram/summary sum. */
  value: number;
  count: number;
  /** Cumulative bucket counts (histograms). */
  readonly buckets: Float64Array | undefined;
  /** Every observation since the series began, as a native histogram (a mapping's `native_histogram_bucket_factor`). */
  readonly native: FoldedTimer | undefined;
  /** Recent observations per age bucket (summaries), newest last. */
  window: number[][] | undefined;
  windowStartMs: number;
  lastUpdateMs: number;
  ttlMs: number;
  /** Set when the series leaves the exposition (its ttl passed). */
  removed: boolean;
}

/**
 * A family's series by their label pairs. Most families hold one series (a StatsD name
 * without tags is a family of its own), so the one series sits in two fields and a Map
 * (a few hundred bytes even when small) comes with the second.
 */
export class FamilySeries {
  #key = '';
  #one: PromSeries | undefined;
  #many: Map<string, PromSeries> | undefined;

  get size(): number {
    return this.#many?.size ?? (this.#one === undefined ? 0 : 1);
  }

  get(key: string): PromSeries | undefined {
    if (this.#many !== undefined) return this.#many.get(key);
    return key === this.#key ? this.#one : undefined;
  }

  set(key: string, series: PromSeries): void {
    if (this.#many !== undefined) this.#many.set(key, series);
    else if (this.#one === undefined || key === this.#key) {
      this.#key = key;
      this.#one = series;
    } else {
      this.#many = new Map([
        [this.#key, this.#one],
        [key, series],
      ]);
      this.#one = undefined;
    }
  }

  delete(key: string): boolean {
    if (this.#many !== undefined) return this.#many.delete(key);
    if (this.#one === undefined || key !== this.#key) return false;
    this.#one = undefined;
    return true;
  }

  /** The series in insertion order. */
  *values(): Generator<PromSeries> {
    if (this.#many !== undefined) yield* this.#many.values();
    else if (this.#one !== undefined) yield this.#one;
  }
}

/** One metric family: a name, one type, one set of label names. */
export interface Family {
  readonly name: string;
  readonly type: FamilyType;
  readonly help: string;
  readonly labelNames: string;
  readonly buckets: readonly number[];
  /** Native histogram settings (histograms whose rule sets a bucket factor). */
  readonly native: NativeHistogramOptions | undefined;
  readonly quantiles: readonly Objective[];
  readonly maxAgeMs: number;
  readonly ageBuckets: number;
  readonly series: FamilySeries;
}

/** Where a StatsD series goes: its family, series and scale, or why it goes nowhere. */
interface CacheEntry {
  readonly family: Family | undefined;
  readonly series: PromSeries | undefined;
  readonly scale: number;
  readonly dropped: DropReason | undefined;
  seen: number;
}

/** A resolved entry. */
type Resolved = CacheEntry & { readonly family: Family; readonly series: PromSeries };

/** The labels of a series without any (shared: most have none). */
const NO_LABELS: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

/** The StatsD kinds, each resolved on its own (a counter and a gauge may share a name). */
type Kind = 'c' | 'g' | 's' | 't';

/** No default ttl: series stay until a rule's ttl says otherwise (statsd_exporter's default). */
const NEVER_EXPIRE: ExpiryConfig = { counterMs: 0, gaugeMs: 0, setMs: 0, timerMs: 0 };

/** Resolutions of StatsD series, by kind, then identity (no key string per series). */
class ResolutionCache {
  readonly #byKind = new Map<Kind, IdentityMap<CacheEntry>>();

  get(kind: Kind, id: SeriesIdentity): CacheEntry | undefined {
    return this.#byKind.get(kind)?.get(id);
  }

  set(kind: Kind, id: SeriesIdentity, e: CacheEntry): void {
    let byId = this.#byKind.get(kind);
    if (byId === undefined) this.#byKind.set(kind, (byId = new IdentityMap<CacheEntry>()));
    byId.set(id, e);
  }

  /** Forgets the entries last seen before `gen`. */
  *evictChunked(gen: number): Generator<void, void> {
    for (const byId of this.#byKind.values()) yield* byId.deleteWhereChunked((e) => e.seen < gen);
  }

  clear(): void {
    this.#byKind.clear();
  }
}

/** Counts drops by reason (the backend's self-metric). */
/** Counts refusals; `name` is the StatsD series' name when one series was refused. */
export type DropCounter = (reason: DropReason, count: number, name?: string) => void;

const SUFFIXES: Record<FamilyType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * PromStore turns flushed intervals into cumulative Prometheus series and keeps them
 * between scrapes: counters add the interval deltas, gauges and sets take the latest
 * value, timers feed histograms or summaries (milliseconds become seconds). Every
 * conflict that would make the exposition invalid is refused at the series' first
 * sample and counted, so what is exposed is always a valid document.
 */
export class PromStore {
  readonly families = new Map<string, Family>();
  /** Sample name → the family that writes it, to refuse colliding families. */
  readonly #sampleNames = new Map<string, Family>();
  readonly #cache = new ResolutionCache();
  readonly #dropped: DropCounter;
  #mapper: MetricMapper;
  #maxSeries: number;
  /** A series' ttl where its rule sets none: the aggregator's expiry for its StatsD kind. */
  #expiry: ExpiryConfig;
  #envoy: EnvoyTagExtractor;
  #seriesCount = 0;
  /** StatsD series refused while applying the last interval, idle ones included. */
  #refused = 0;
  /** The interval being applied's raw names (FlushSnapshot.rawNames): mapped as written. */
  #rawNames: ReadonlyMap<string, string> | undefined;
  /** Series with a ttl: without any, expiry has nothing to look at. */
  #withTtl = 0;
  #generation = 0;

  constructor(
    mapper: MetricMapper,
    maxSeries: number,
    dropped: DropCounter,
    envoy: EnvoyTagExtractor = new EnvoyTagExtractor('off'),
    expiry: ExpiryConfig = NEVER_EXPIRE,
  ) {
    this.#mapper = mapper;
    this.#maxSeries = maxSeries;
    this.#expiry = expiry;
    this.#dropped = dropped;
    this.#envoy = envoy;
  }

  get seriesCount(): number {
    return this.#seriesCount;
  }

  /** StatsD series the last applied interval had no Prometheus series for (dropped or refused), idle ones included. */
  get refusedAtLastApply(): number {
    return this.#refused;
  }

  /**
   * Swaps the mapping and the series cap. Series keep their cumulative values; a StatsD
   * series resolves again at its next sample, so a series whose mapped identity did not
   * change continues where it was, and one that now maps elsewhere starts a new series
   * (the old one leaves by its ttl, as in statsd_exporter).
   */
  reconfigure(mapper: MetricMapper, maxSeries: number, envoy?: EnvoyTagExtractor, expiry?: ExpiryConfig): void {
    this.#mapper = mapper;
    this.#maxSeries = maxSeries;
    if (expiry !== undefined) this.#expiry = expiry;
    if (envoy !== undefined) this.#envoy = envoy;
    this.#cache.clear();
  }

  /** Applies one interval at once (its timers only with `timers`). */
  apply(s: FlushSnapshot, timers = true): void {
    runToEnd(this.applyChunked(s, timers));
  }

  /**
   * Applies one interval (its timers only with `timers`), yielding every {@link CHUNK_SERIES} series so that a caller
   * using runChunked lets receiving run in between. A scrape in between sees some series
   * at the new interval and the rest at the previous one; each series is consistent.
   */
  *applyChunked(s: FlushSnapshot, timers = true): Generator<void, void> {
    const now = s.timestampMs;
    this.#rawNames = s.rawNames;
    this.#refused = 0;
    const gen = ++this.#generation;
    let k = 0;
    for (const c of s.counters) {
      if (++k % CHUNK_SERIES === 0) yield;
      if (c.value === 0) {
        // Nothing to add, but the series is still there: keep its resolution.
        this.#idle('c', c, gen);
        continue;
      }
      const r = this.#resolve('c', c, 'counter', 'counter', gen, now);
      if (r === undefined) continue;
      const v = c.value * r.scale;
      if (v < 0) {
        this.#dropped('negative_counter', 1);
        continue;
      }
      r.series.value += v;
      r.series.lastUpdateMs = now;
    }
    for (const g of s.gauges) {
      if (++k % CHUNK_SERIES === 0) yield;
      // An idle gauge is reported until it expires: a refusal counts once, when it had samples.
      const r = this.#resolve('g', g, 'gauge', 'gauge', gen, now, hadSamples(s, g));
      if (r === undefined) continue;
      r.series.value = g.value * r.scale;
      r.series.lastUpdateMs = now;
    }
    for (const st of s.sets) {
      if (++k % CHUNK_SERIES === 0) yield;
      if (st.size === 0) {
        this.#idle('s', st, gen);
        continue;
      }
      const r = this.#resolve('s', st, 'gauge', 'gauge', gen, now);
      if (r === undefined) continue;
      r.series.value = st.size * r.scale;
      r.series.lastUpdateMs = now;
    }
    for (const t of timers ? s.timers : []) {
      if (++k % CHUNK_SERIES === 0) yield;
      if (t.values.length === 0) {
        this.#idle('t', t, gen);
        continue;
      }
      const r = this.#resolve('t', t, 'observer', undefined, gen, now);
      if (r === undefined) continue;
      // Each value stands for sampledCount / values samples (1 / sample rate).
      const weight = t.sampledCount / t.values.length;
      const scale = r.scale / 1000;
      observe(r.family, r.series, t.values, weight, scale, now);
      r.series.lastUpdateMs = now;
    }
    // Forget resolutions of StatsD series gone for two intervals.
    if (gen % 2 === 0) yield* this.#cache.evictChunked(gen - 2);
  }

  /** Removes series idle longer than their ttl, and families left empty. */
  expire(nowMs: number): void {
    runToEnd(this.expireChunked(nowMs));
  }

  /** {@link expire} in slices, for runChunked. Without any series with a ttl it does nothing. */
  *expireChunked(nowMs: number): Generator<void, void> {
    if (this.#withTtl === 0) return;
    let k = 0;
    for (const [name, f] of this.families) {
      for (const ps of f.series.values()) {
        if (++k % CHUNK_SERIES === 0) yield;
        if (ps.ttlMs > 0 && nowMs - ps.lastUpdateMs > ps.ttlMs) {
          f.series.delete(ps.labelPairs);
          ps.removed = true;
          this.#seriesCount--;
          this.#withTtl--;
        }
      }
      if (f.series.size === 0 && this.families.get(name) === f) {
        this.families.delete(name);
        for (const suffix of SUFFIXES[f.type]) this.#sampleNames.delete(name + suffix);
        // A name another family was refused for may be free now.
        this.#cache.clear();
      }
    }
  }

  /**
   * How a StatsD series maps, without placing it (explain): the rule that matched (-1:
   * none) and its `match`, the action, and the escaped name and labels it would get.
   */
  mappingOf(
    id: SeriesIdentity,
    type: MatchMetricType,
  ): { rule: number; match: string | undefined; action: 'map' | 'drop'; name: string; labels: Map<string, string> } {
    const envoy = this.#envoy.apply(this.#nameOf(id), id.tags);
    const m = this.#mapper.map(envoy.name, type);
    return {
      rule: m.rule,
      match: this.#mapper.ruleMatch(m.rule),
      action: m.action,
      name: escapeMetricName(m.name),
      labels: labelsOf(envoy.tags, m),
    };
  }

  /** A series without samples this interval: its resolution is kept, and a refused one still counts as left out. */
  #idle(kind: Kind, id: SeriesIdentity, gen: number): void {
    const e = this.#cache.get(kind, id);
    if (e === undefined) return;
    e.seen = gen;
    if (e.dropped !== undefined) this.#refused++;
  }

  /**
   * The name a mapping sees: as the client wrote it when normalisation changed it
   * (statsd_exporter maps names as received and escapes them itself), else the series' name.
   */
  #nameOf(id: SeriesIdentity): string {
    return this.#rawNames?.get(id.name) ?? id.name;
  }

  #resolve(
    kind: Kind,
    id: SeriesIdentity,
    matchType: MatchMetricType,
    fixed: FamilyType | undefined,
    gen: number,
    now: number,
    counted = true,
  ): Resolved | undefined {
    let e = this.#cache.get(kind, id);
    if (e === undefined || e.series?.removed === true) {
      e = this.#place(kind, id, matchType, fixed, now, gen);
      this.#cache.set(kind, id, e);
    }
    e.seen = gen;
    if (e.dropped !== undefined) {
      this.#refused++;
      if (counted) this.#dropped(e.dropped, 1, id.name);
      return undefined;
    }
    return e as Resolved;
  }

  /**
   * The ttl of a series whose rule sets none: the aggregator's expiry for its kind, so a
   * name sent once leaves the exposition as it leaves the aggregator (0: never).
   */
  #defaultTtl(kind: Kind): number {
    const e = this.#expiry;
    return kind === 'c' ? e.counterMs : kind === 'g' ? e.gaugeMs : kind === 's' ? e.setMs : e.timerMs;
  }

  /** Finds or creates the Prometheus series a StatsD series feeds. */
  #place(
    kind: Kind,
    id: SeriesIdentity,
    matchType: MatchMetricType,
    fixed: FamilyType | undefined,
    now: number,
    gen: number,
  ): CacheEntry {
    const placed = this.#placeSeries(kind, id, matchType, fixed, now);
    return typeof placed === 'string'
      ? { family: undefined, series: undefined, scale: 0, dropped: placed, seen: gen }
      : { family: placed.family, series: placed.series, scale: placed.scale, dropped: undefined, seen: gen };
  }

  #placeSeries(
    kind: Kind,
    id: SeriesIdentity,
    matchType: MatchMetricType,
    fixed: FamilyType | undefined,
    now: number,
  ): { family: Family; series: PromSeries; scale: number } | DropReason {
    // Envoy's name segments become tags first (envoy-tag-extraction), then the mapping applies.
    const envoy = this.#envoy.apply(this.#nameOf(id), id.tags);
    const m = this.#mapper.map(envoy.name, matchType);
    if (m.action === 'drop') return 'mapping_drop';
    const name = escapeMetricName(m.name);
    if (name === '') return 'empty_metric_name';
    const type: FamilyType = fixed ?? m.observerType;
    const labels = labelsOf(envoy.tags, m);
    if ((type === 'histogram' && labels.has('le')) || (type === 'summary' && labels.has('quantile')))
      return 'reserved_label';
    const names = [...labels.keys()].sort();
    const labelNames = names.join(',');
    let family = this.families.get(name);
    if (family === undefined) {
      if (this.#sampleNames.has(name)) return 'name_conflict';
      for (const suffix of SUFFIXES[type]) if (this.#sampleNames.has(name + suffix)) return 'name_conflict';
      family = {
        name,
        type,
        help: m.help,
        labelNames,
        buckets: m.buckets,
        native: type === 'histogram' ? m.native : undefined,
        quantiles: m.summary.quantiles,
        maxAgeMs: m.summary.maxAgeMs,
        ageBuckets: m.summary.ageBuckets,
        series: new FamilySeries(),
      };
    } else if (family.type !== type) return 'type_conflict';
    else if (family.labelNames !== labelNames) return 'label_conflict';
    const pairs = names.map((n) => `${n}="${escapeLabelValue(labels.get(n)!)}"`).join(',');
    let series = family.series.get(pairs);
    if (series === undefined) {
      if (this.#seriesCount >= this.#maxSeries) return 'max_series';
      if (!this.families.has(name)) {
        this.families.set(name, family);
        this.#sampleNames.set(name, family);
        for (const suffix of SUFFIXES[type]) this.#sampleNames.set(name + suffix, family);
      }
      series = {
        labelPairs: pairs,
        labels: names.length === 0 ? NO_LABELS : names.map((n) => [n, labels.get(n)!] as const),
        value: 0,
        count: 0,
        buckets: type === 'histogram' ? new Float64Array(family.buckets.length) : undefined,
        native:
          family.native === undefined ? undefined : new FoldedTimer(family.native.maxBuckets, 0, family.native.schema),
        window: type === 'summary' ? [[]] : undefined,
        windowStartMs: now,
        lastUpdateMs: now,
        ttlMs: 0,
        removed: false,
      };
      family.series.set(pairs, series);
      this.#seriesCount++;
    }
    const ttlMs = m.ttlMs > 0 ? m.ttlMs : this.#defaultTtl(kind);
    if (series.ttlMs > 0 !== ttlMs > 0) this.#withTtl += ttlMs > 0 ? 1 : -1;
    series.ttlMs = ttlMs;
    return { family, series, scale: m.scale };
  }
}

/** Tag labels ({@link tagLabel}) merged with the rule's labels. */
function labelsOf(tags: readonly string[], m: MappingResult): Map<string, string> {
  const labels = new Map<string, string>();
  for (const t of tags) {
    const l = tagLabel(t);
    if (l !== undefined) labels.set(l[0], l[1]);
  }
  for (const [k, v] of m.labels) if (!(m.honorLabels && labels.has(k))) labels.set(k, v);
  return labels;
}

/** Escapes a label value for the text formats: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** Upper bound on the observations a summary keeps per age bucket (client_golang's buffer cap). */
const SUMMARY_BUCKET_CAP = 500;

function observe(
  f: Family,
  ps: PromSeries,
  values: Float64Array | readonly number[],
  weight: number,
  scale: number,
  now: number,
): void {
  ps.count += values.length * weight;
  if (ps.native !== undefined) {
    // Whole counts: each value takes its share of the weight, rounded so that the shares add up.
    let acc = 0;
    for (let i = 0; i < values.length; i++) {
      const n = Math.round(acc + weight) - Math.round(acc);
      acc += weight;
      if (n > 0) ps.native.addWeighted(values[i]! * scale, n);
    }
  }
  if (ps.buckets !== undefined) {
    const b = f.buckets;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]! * scale;
      ps.value += v * weight;
      // Cumulative buckets: every bound at or above the value counts it.
      for (let j = b.length - 1; j >= 0 && v <= b[j]!; j--) ps.buckets[j]! += weight;
    }
    return;
  }
  rotate(f, ps, now);
  const cur = ps.window![ps.window!.length - 1]!;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]! * scale;
    ps.value += v * weight;
    if (cur.length < SUMMARY_BUCKET_CAP) cur.push(v);
    else cur[Math.floor(Math.random() * SUMMARY_BUCKET_CAP)] = v;
  }
}

/** Ages a summary's window: buckets older than max_age leave it. */
function rotate(f: Family, ps: PromSeries, now: number): void {
  const w = ps.window;
  if (w === undefined) return;
  const span = f.maxAgeMs / f.ageBuckets;
  while (now - ps.windowStartMs >= span) {
    w.push([]);
    if (w.length > f.ageBuckets) w.shift();
    ps.windowStartMs += span;
    if (w.every((b) => b.length === 0)) {
      ps.windowStartMs = now;
      break;
    }
  }
}

/** The quantiles of a summary's window (NaN when it is empty, as client_golang reports). */
export function summaryQuantiles(f: Family, ps: PromSeries, now: number): number[] {
  rotate(f, ps, now);
  const all = ps.window!.flat().sort((a, b) => a - b);
  return f.quantiles.map((q) =>
    all.length === 0 ? NaN : all[Math.min(all.length - 1, Math.max(0, Math.ceil(q.quantile * all.length) - 1))]!,
  );
}
