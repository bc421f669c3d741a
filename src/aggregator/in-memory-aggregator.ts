import type { MetricKind } from '../parser/sample.js';
import { applySample, newAccumulator, type Accumulator } from './accumulators.js';
import type { Aggregator, SeriesSample } from './aggregator.js';
import { computeSnapshot, runToEnd, type IntervalCut, type StatsConfig, type TimerCut } from './interval-cut.js';
import type { FlushSnapshot, SeriesIdentity } from './snapshot.js';
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
}

type ShardMaps = Record<MetricKind, Map<string, Accumulator>>;

const KINDS: readonly MetricKind[] = ['counter', 'gauge', 'timer', 'set'];

function newShard(): ShardMaps {
  return { counter: new Map(), gauge: new Map(), timer: new Map(), set: new Map() };
}

function shardIndex(name: string, host: string, shards: number): number {
  if (shards === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  for (let i = 0; i < host.length; i++) h = Math.imul(h ^ host.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/** Merges per-shard lists (each ascending by seq) into one list ascending by seq. */
function mergeBySeq(lists: Accumulator[][]): Accumulator[] {
  if (lists.length === 1) return lists[0]!;
  const out: Accumulator[] = [];
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

/**
 * InMemoryAggregator keeps every series in `shards` partitions (keyed by name and host)
 * and merges them into ONE interval cut per flush, so backends never see partial maps.
 *
 * Semantics follow gostatsd (statsd-semantics.md §5–§7) with one deliberate change:
 * within a datagram the last gauge value wins.
 */
export class InMemoryAggregator implements Aggregator {
  readonly #config: AggregatorConfig;
  readonly #shards: ShardMaps[];
  #seq = 0;

  constructor(config: AggregatorConfig) {
    this.#config = config;
    this.#shards = Array.from({ length: Math.max(1, config.shards) }, newShard);
  }

  /** The settings in force. */
  get config(): AggregatorConfig {
    return this.#config;
  }

  /** The settings the statistics of a cut depend on. */
  get statsConfig(): StatsConfig {
    return { percentThresholds: this.#config.percentThresholds, disabledPercentiles: this.#config.disabledPercentiles };
  }

  record(s: SeriesSample, nowMs: number): Accumulator {
    const map = this.#shards[shardIndex(s.name, s.host, this.#shards.length)]![s.kind];
    const key = s.name + '\n' + s.tagsKey;
    let acc = map.get(key);
    if (acc === undefined) {
      const id: SeriesIdentity = { name: s.name, tags: s.tags, host: s.host, tagsKey: s.tagsKey };
      acc = newAccumulator(s.kind, this.#seq++, id, nowMs);
      map.set(key, acc);
    }
    applySample(acc, s.value, s.member, s.rate, nowMs);
    return acc;
  }

  cut(nowMs: number): IntervalCut {
    const { expiry } = this.#config;
    const list = (kind: MetricKind): Accumulator[] => mergeBySeq(this.#shards.map((s) => [...s[kind].values()]));

    const counters = list('counter').map((a) => ({ id: a.id, value: a.value }));
    const gauges = list('gauge').map((a) => ({ id: a.id, value: a.value }));
    const timers: TimerCut[] = list('timer').map((a) => ({ id: a.id, values: a.values, sampled: a.sampled }));
    const sets = list('set').map((a) => ({ id: a.id, members: a.members as ReadonlySet<string> }));

    const expiryOf: Record<MetricKind, number> = {
      counter: expiry.counterMs,
      gauge: expiry.gaugeMs,
      timer: expiry.timerMs,
      set: expiry.setMs,
    };
    for (const shard of this.#shards) {
      for (const kind of KINDS) {
        const expiryMs = expiryOf[kind];
        for (const [k, acc] of shard[kind]) {
          if (expiryMs !== 0 && nowMs - acc.lastSeenMs > expiryMs) {
            shard[kind].delete(k);
            acc.dead = true;
            continue;
          }
          // The cut owns the interval's data now; start a fresh interval (gauges keep their value).
          if (kind === 'counter') acc.value = 0;
          else if (kind === 'timer') {
            if (acc.values.length > 0) acc.values = [];
            acc.sampled = 0;
          } else if (kind === 'set' && acc.members.size > 0) acc.members = new Set();
        }
      }
    }
    return { timestampMs: nowMs, counters, gauges, timers, sets };
  }

  snapshotAndReset(nowMs: number, intervalSeconds: number): FlushSnapshot {
    return runToEnd(computeSnapshot(this.cut(nowMs), intervalSeconds, this.statsConfig));
  }

  seriesCount(): Record<MetricKind, number> {
    const c: Record<MetricKind, number> = { counter: 0, gauge: 0, timer: 0, set: 0 };
    for (const s of this.#shards) for (const k of KINDS) c[k] += s[k].size;
    return c;
  }
}
