import type { MetricKind } from '../parser/sample.js';
import type { Aggregator, SeriesSample } from './aggregator.js';
import type { CounterPoint, FlushSnapshot, GaugePoint, SeriesIdentity, SetPoint, TimerPoint } from './snapshot.js';
import { computeTimerStats, type DisabledPercentiles } from './timer-stats.js';

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
}

interface Base {
  /** Global creation order; snapshots list series in this order. */
  readonly seq: number;
  readonly id: SeriesIdentity;
  lastSeenMs: number;
}
interface CounterAcc extends Base {
  value: number;
}
interface GaugeAcc extends Base {
  value: number;
}
interface TimerAcc extends Base {
  values: number[];
  sampled: number;
}
interface SetAcc extends Base {
  members: Set<string>;
}

class Shard {
  readonly counters = new Map<string, CounterAcc>();
  readonly gauges = new Map<string, GaugeAcc>();
  readonly timers = new Map<string, TimerAcc>();
  readonly sets = new Map<string, SetAcc>();
}

const EMPTY_VALUES = new Float64Array(0);

function identityOf(s: SeriesSample): SeriesIdentity {
  return { name: s.name, tags: s.tags, host: s.host, tagsKey: s.tagsKey };
}

function shardIndex(name: string, host: string, shards: number): number {
  if (shards === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  for (let i = 0; i < host.length; i++) h = Math.imul(h ^ host.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/** Merges per-shard lists (each ascending by seq) into one list ascending by seq. */
function mergeBySeq<T extends Base>(lists: T[][]): T[] {
  if (lists.length === 1) return lists[0]!;
  const out: T[] = [];
  const pos = new Array<number>(lists.length).fill(0);
  for (;;) {
    let best = -1;
    let bestSeq = Infinity;
    for (let i = 0; i < lists.length; i++) {
      const item = lists[i]![pos[i]!];
      if (item !== undefined && item.seq < bestSeq) {
        bestSeq = item.seq;
        best = i;
      }
    }
    if (best < 0) return out;
    out.push(lists[best]![pos[best]!]!);
    pos[best]!++;
  }
}

function expired(acc: Base, nowMs: number, expiryMs: number): boolean {
  return expiryMs !== 0 && nowMs - acc.lastSeenMs > expiryMs;
}

/**
 * InMemoryAggregator keeps every series in `shards` partitions (keyed by name and host)
 * and merges them into ONE snapshot per flush, so backends never see partial maps.
 *
 * Semantics follow gostatsd (statsd-semantics.md §5–§7) with one deliberate change:
 * within a datagram the last gauge value wins.
 */
export class InMemoryAggregator implements Aggregator {
  readonly #config: AggregatorConfig;
  readonly #shards: Shard[];
  #seq = 0;

  constructor(config: AggregatorConfig) {
    this.#config = config;
    this.#shards = Array.from({ length: Math.max(1, config.shards) }, () => new Shard());
  }

  /** The settings in force. */
  get config(): AggregatorConfig {
    return this.#config;
  }

  record(s: SeriesSample, nowMs: number): void {
    const shard = this.#shards[shardIndex(s.name, s.host, this.#shards.length)]!;
    const key = s.name + '\n' + s.tagsKey;
    switch (s.kind) {
      case 'counter': {
        const inc = Math.trunc(s.value / s.rate) + 0;
        const acc = shard.counters.get(key);
        if (acc === undefined) {
          shard.counters.set(key, { seq: this.#seq++, id: identityOf(s), lastSeenMs: nowMs, value: inc });
        } else {
          acc.value += inc;
          acc.lastSeenMs = nowMs;
        }
        return;
      }
      case 'gauge': {
        const acc = shard.gauges.get(key);
        if (acc === undefined) {
          shard.gauges.set(key, { seq: this.#seq++, id: identityOf(s), lastSeenMs: nowMs, value: s.value });
        } else {
          acc.value = s.value;
          acc.lastSeenMs = nowMs;
        }
        return;
      }
      case 'timer': {
        const acc = shard.timers.get(key);
        if (acc === undefined) {
          shard.timers.set(key, {
            seq: this.#seq++,
            id: identityOf(s),
            lastSeenMs: nowMs,
            values: [s.value],
            sampled: 1 / s.rate,
          });
        } else {
          acc.values.push(s.value);
          acc.sampled += 1 / s.rate;
          acc.lastSeenMs = nowMs;
        }
        return;
      }
      case 'set': {
        const acc = shard.sets.get(key);
        if (acc === undefined) {
          shard.sets.set(key, {
            seq: this.#seq++,
            id: identityOf(s),
            lastSeenMs: nowMs,
            members: new Set([s.member]),
          });
        } else {
          acc.members.add(s.member);
          acc.lastSeenMs = nowMs;
        }
        return;
      }
    }
  }

  snapshotAndReset(nowMs: number, intervalSeconds: number): FlushSnapshot {
    const { expiry, percentThresholds, disabledPercentiles } = this.#config;

    const counters: CounterPoint[] = [];
    for (const acc of mergeBySeq(this.#shards.map((s) => [...s.counters.values()]))) {
      counters.push({ ...acc.id, value: acc.value, perSecond: acc.value / intervalSeconds });
    }
    const timers: TimerPoint[] = [];
    for (const acc of mergeBySeq(this.#shards.map((s) => [...s.timers.values()]))) {
      if (acc.values.length === 0) {
        timers.push({
          ...acc.id,
          min: 0,
          max: 0,
          count: 0,
          perSecond: 0,
          mean: 0,
          median: 0,
          stdDev: 0,
          sum: 0,
          sumSquares: 0,
          percentiles: [],
          sampledCount: 0,
          values: EMPTY_VALUES,
        });
        continue;
      }
      const sorted = Float64Array.from(acc.values).sort();
      const st = computeTimerStats(sorted, percentThresholds, disabledPercentiles);
      timers.push({
        ...acc.id,
        ...st,
        count: Math.floor(acc.sampled + 0.5),
        perSecond: acc.sampled / intervalSeconds,
        sampledCount: acc.sampled,
        values: sorted,
      });
    }
    const gauges: GaugePoint[] = [];
    for (const acc of mergeBySeq(this.#shards.map((s) => [...s.gauges.values()]))) {
      gauges.push({ ...acc.id, value: acc.value });
    }
    const sets: SetPoint[] = [];
    for (const acc of mergeBySeq(this.#shards.map((s) => [...s.sets.values()]))) {
      sets.push({ ...acc.id, size: acc.members.size, members: acc.members });
    }

    for (const shard of this.#shards) {
      for (const [k, acc] of shard.counters) {
        if (expired(acc, nowMs, expiry.counterMs)) shard.counters.delete(k);
        else acc.value = 0;
      }
      for (const [k, acc] of shard.timers) {
        if (expired(acc, nowMs, expiry.timerMs)) shard.timers.delete(k);
        else if (acc.values.length > 0 || acc.sampled !== 0) {
          acc.values = [];
          acc.sampled = 0;
        }
      }
      for (const [k, acc] of shard.gauges) {
        if (expired(acc, nowMs, expiry.gaugeMs)) shard.gauges.delete(k);
      }
      for (const [k, acc] of shard.sets) {
        if (expired(acc, nowMs, expiry.setMs)) shard.sets.delete(k);
        else if (acc.members.size > 0) acc.members = new Set();
      }
    }
    return { timestampMs: nowMs, intervalSeconds, counters, timers, gauges, sets };
  }

  seriesCount(): Record<MetricKind, number> {
    const c: Record<MetricKind, number> = { counter: 0, gauge: 0, timer: 0, set: 0 };
    for (const s of this.#shards) {
      c.counter += s.counters.size;
      c.gauge += s.gauges.size;
      c.timer += s.timers.size;
      c.set += s.sets.size;
    }
    return c;
  }
}
