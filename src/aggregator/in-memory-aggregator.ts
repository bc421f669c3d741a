import type { MetricKind } from '../parser/sample.js';
import { applySample, newAccumulator, type Accumulator } from './accumulators.js';
import type { Aggregator, SeriesSample } from './aggregator.js';
import { computeSnapshot, runToEnd, type IntervalCut, type StatsConfig } from './interval-cut.js';
import type { FlushSnapshot } from './snapshot.js';
import type { DisabledPercentiles } from './timer-stats.js';

/** Idle-series expiry per kind, in ms; 0 keeps idle series forever. */
export interface ExpiryConfig {
  counterMs: number;
  gaugeMs: number;
  setMs: number;
  timerMs: number;
}

/** Settings of {@link InMemoryAggregator}. */
export interface AggregatorConfig {
  /** Number of shards the series space is split into (`max-workers`). */
  shards: number;
  /** Percentile thresholds (`percent-threshold`), each in [-100, 100]. */
  percentThresholds: readonly number[];
  disabledPercentiles: DisabledPercentiles;
  expiry: ExpiryConfig;
  /** Cap on live series of all kinds (`max-series`); 0 = none. Samples for new series past it are dropped. */
  maxSeries?: number;
}

/**
 * The series of one kind in one shard. Most names have one series or a few (one per
 * sender or tag set): they are found by name and then along `next`, which needs no key
 * string per series. Past {@link CHAIN_MAX} series of one name, the others are kept
 * under `name + "\n" + tagsKey` so a high-cardinality tag never makes look-ups linear.
 */
interface KindIndex {
  readonly byName: Map<string, Accumulator>;
  readonly byKey: Map<string, Accumulator>;
}
type ShardMaps = Record<MetricKind, KindIndex>;

const CHAIN_MAX = 8;

function newShard(): ShardMaps {
  const index = (): KindIndex => ({ byName: new Map(), byKey: new Map() });
  return { counter: index(), gauge: index(), timer: index(), set: index() };
}

function shardIndex(name: string, host: string, shards: number): number {
  if (shards === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  for (let i = 0; i < host.length; i++) h = Math.imul(h ^ host.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/**
 * InMemoryAggregator keeps every series in `shards` partitions (keyed by name and host)
 * and merges them into ONE interval cut per flush, so backends never see partial maps.
 *
 * Semantics follow gostatsd (statsd-semantics.md §5–§7) with one deliberate change:
 * within a datagram the last gauge value wins.
 */
export class InMemoryAggregator implements Aggregator {
  #config: AggregatorConfig;
  readonly #shards: ShardMaps[];
  /** Live series per kind in creation order, whatever shard holds them. */
  readonly #order: Record<MetricKind, Accumulator[]> = { counter: [], gauge: [], timer: [], set: [] };
  /** Live series of all kinds. */
  #live = 0;
  #seriesDropped = 0;

  constructor(config: AggregatorConfig) {
    this.#config = config;
    this.#shards = Array.from({ length: Math.max(1, config.shards) }, newShard);
  }

  /** Live series of all types. */
  get liveSeries(): number {
    return this.#live;
  }

  /** Samples dropped because they would have created a series past `maxSeries`. */
  get seriesDropped(): number {
    return this.#seriesDropped;
  }

  /** The settings in force. */
  get config(): AggregatorConfig {
    return this.#config;
  }

  /**
   * Changes percentiles and expiry (a config reload). Takes effect at the next cut; the
   * shard count is fixed for the aggregator's life.
   */
  reconfigure(next: Omit<AggregatorConfig, 'shards'>): void {
    this.#config = { ...next, shards: this.#config.shards };
  }

  /** The settings the statistics of a cut depend on. */
  get statsConfig(): StatsConfig {
    return { percentThresholds: this.#config.percentThresholds, disabledPercentiles: this.#config.disabledPercentiles };
  }

  record(s: SeriesSample, nowMs: number): Accumulator | undefined {
    const index = this.#shards[shardIndex(s.name, s.host, this.#shards.length)]![s.kind];
    const first = index.byName.get(s.name);
    let acc = first;
    let chain = 0;
    while (acc !== undefined && acc.tagsKey !== s.tagsKey) {
      acc = acc.next;
      chain++;
    }
    if (acc === undefined && index.byKey.size > 0) acc = index.byKey.get(s.name + '\n' + s.tagsKey);
    if (acc === undefined) {
      const max = this.#config.maxSeries ?? 0;
      if (max > 0 && this.#live >= max) {
        this.#seriesDropped++;
        return undefined;
      }
      this.#live++;
      acc = newAccumulator(s.kind, s, nowMs);
      if (first === undefined) index.byName.set(s.name, acc);
      else if (chain < CHAIN_MAX) {
        acc.next = first.next;
        first.next = acc;
      } else index.byKey.set(s.name + '\n' + s.tagsKey, acc);
      this.#order[s.kind].push(acc);
    }
    applySample(acc, s.value, s.member, s.rate, nowMs);
    return acc;
  }

  /**
   * Ends the interval in one pass per kind: copies each series' interval data into the
   * cut, then resets it (counters to 0, timers and sets emptied, gauges kept) or, if idle
   * for longer than its kind's expiry, deletes it. Expired series still appear in this
   * cut, as in the reference.
   */
  cut(nowMs: number): IntervalCut {
    const { expiry } = this.#config;
    const counters = this.#sweep('counter', nowMs, expiry.counterMs);
    const counterValues = new Float64Array(counters.length);
    for (let i = 0; i < counters.length; i++) {
      const a = counters[i]!;
      counterValues[i] = a.current;
      a.current = 0;
    }
    const gauges = this.#sweep('gauge', nowMs, expiry.gaugeMs);
    const gaugeValues = new Float64Array(gauges.length);
    for (let i = 0; i < gauges.length; i++) gaugeValues[i] = gauges[i]!.current;
    const timers = this.#sweep('timer', nowMs, expiry.timerMs);
    const timerValues = new Array<number[]>(timers.length);
    const timerSampled = new Float64Array(timers.length);
    for (let i = 0; i < timers.length; i++) {
      const a = timers[i]!;
      timerValues[i] = a.values;
      timerSampled[i] = a.sampled;
      if (a.values.length > 0) a.values = [];
      a.sampled = 0;
    }
    const sets = this.#sweep('set', nowMs, expiry.setMs);
    const setMembers = new Array<Set<string>>(sets.length);
    for (let i = 0; i < sets.length; i++) {
      const a = sets[i]!;
      setMembers[i] = a.members;
      if (a.members.size > 0) a.members = new Set();
    }
    return {
      timestampMs: nowMs,
      counters,
      counterValues,
      gauges,
      gaugeValues,
      timers,
      timerValues,
      timerSampled,
      sets,
      setMembers,
    };
  }

  /** Returns every live series of a kind (for the cut) and drops the expired ones. */
  #sweep(kind: MetricKind, nowMs: number, expiryMs: number): Accumulator[] {
    const all = this.#order[kind];
    if (expiryMs === 0) return all.slice();
    const keep: Accumulator[] = [];
    for (const acc of all) {
      if (nowMs - acc.lastSeenMs > expiryMs) {
        acc.dead = true;
        this.#unlink(this.#shards[shardIndex(acc.name, acc.host, this.#shards.length)]![kind], acc);
      } else keep.push(acc);
    }
    this.#live -= all.length - keep.length;
    this.#order[kind] = keep;
    return all;
  }

  /** Removes an expired series from its index. */
  #unlink(index: KindIndex, acc: Accumulator): void {
    const first = index.byName.get(acc.name);
    if (first === acc) {
      if (acc.next === undefined) index.byName.delete(acc.name);
      else index.byName.set(acc.name, acc.next);
      acc.next = undefined;
      return;
    }
    let prev = first;
    while (prev !== undefined && prev.next !== acc) prev = prev.next;
    if (prev !== undefined) {
      prev.next = acc.next;
      acc.next = undefined;
      return;
    }
    index.byKey.delete(acc.name + '\n' + acc.tagsKey);
  }

  snapshotAndReset(nowMs: number, intervalSeconds: number): FlushSnapshot {
    return runToEnd(computeSnapshot(this.cut(nowMs), intervalSeconds, this.statsConfig));
  }

  seriesCount(): Record<MetricKind, number> {
    const o = this.#order;
    return { counter: o.counter.length, gauge: o.gauge.length, timer: o.timer.length, set: o.set.length };
  }
}
