import type {
  CounterPoint,
  FlushSnapshot,
  GaugePoint,
  SeriesIdentity,
  SetPoint,
  StatsConfig,
  TimerPoint,
} from './snapshot.js';
import { IdentityMap } from './identity-map.js';
import { computeTimerStats, newTimerStats } from './timer-stats.js';
import { FoldedTimer } from './folded-timer.js';
import { CHUNK_SERIES, runToEnd } from '../shared/cooperative.js';

/** A copy of a series' identity fields. */
function identity(p: SeriesIdentity): SeriesIdentity {
  return { name: p.name, tags: p.tags, host: p.host, tagsKey: p.tagsKey };
}

/** The series of one kind by identity, and in first-seen order. */
class ByIdentity<E> extends IdentityMap<E> {
  readonly entries: E[] = [];

  add(p: SeriesIdentity, e: E): E {
    this.set(p, e);
    this.entries.push(e);
    return e;
  }
}

/**
 * Merges consecutive intervals into one snapshot, the way the gostatsd reference merges
 * forwarded maps: counters add, gauges take the newer value, timers concatenate their
 * values (statistics recomputed over all of them), sets take the union. The merged
 * interval is the sum of both (so `per_second` stays a rate over the whole span) and ends
 * at the newer flush. Series keep their first-seen order.
 *
 * The result owns all its data: nothing in it refers to either input, which can be
 * reused as soon as this returns.
 */
export function mergeSnapshots(older: FlushSnapshot, newer: FlushSnapshot): FlushSnapshot {
  return runToEnd(mergeSnapshotsChunked(older, newer));
}

/**
 * {@link mergeSnapshots} as a generator that yields every {@link CHUNK_SERIES} series, for
 * runChunked: merging 100,000 series takes a few hundred milliseconds. Both inputs must
 * stay untouched until it returns.
 */
export function* mergeSnapshotsChunked(older: FlushSnapshot, newer: FlushSnapshot): Generator<void, FlushSnapshot> {
  const intervalSeconds = older.intervalSeconds + newer.intervalSeconds;
  const stats = newer.stats;
  let k = 0;

  const counters = new ByIdentity<{ id: SeriesIdentity; value: number; lastSeenMs: number }>();
  for (const list of [older.counters, newer.counters])
    for (const c of list) {
      if (++k % CHUNK_SERIES === 0) yield;
      const e = counters.get(c);
      if (e === undefined) counters.add(c, { id: c, value: c.value, lastSeenMs: c.lastSeenMs });
      else {
        e.value += c.value;
        e.lastSeenMs = Math.max(e.lastSeenMs, c.lastSeenMs);
      }
    }

  const gauges = new ByIdentity<{ id: SeriesIdentity; value: number; lastSeenMs: number }>();
  for (const list of [older.gauges, newer.gauges])
    for (const g of list) {
      if (++k % CHUNK_SERIES === 0) yield;
      const e = gauges.get(g);
      if (e === undefined) gauges.add(g, { id: g, value: g.value, lastSeenMs: g.lastSeenMs });
      else {
        e.value = g.value;
        e.lastSeenMs = Math.max(e.lastSeenMs, g.lastSeenMs);
      }
    }

  const timers = new ByIdentity<{
    id: SeriesIdentity;
    values: number[];
    sampled: number;
    folded: FoldedTimer | undefined;
  }>();
  for (const list of [older.timers, newer.timers])
    for (const t of list) {
      if (++k % CHUNK_SERIES === 0) yield;
      const e = timers.get(t) ?? timers.add(t, { id: t, values: [], sampled: 0, folded: undefined });
      const h = t.histogram;
      if (h === undefined && e.folded === undefined) for (const v of t.values) e.values.push(v);
      else {
        // Past timer-exact-values on either side: histograms merge bucket-wise, exact values join them.
        if (e.folded === undefined) {
          e.folded = FoldedTimer.of(e.values, e.values.length, h!.maxBuckets, h!.exactLimit);
          e.values = [];
        }
        // Only the aggregator makes histograms: each is a FoldedTimer.
        if (h !== undefined) e.folded.merge(h as FoldedTimer);
        else for (const v of t.values) e.folded.add(v);
      }
      e.sampled += t.sampledCount;
    }

  const sets = new ByIdentity<{ id: SeriesIdentity; members: Set<string> }>();
  for (const list of [older.sets, newer.sets])
    for (const st of list) {
      if (++k % CHUNK_SERIES === 0) yield;
      const e = sets.get(st) ?? sets.add(st, { id: st, members: new Set() });
      for (const m of st.members) e.members.add(m);
    }

  // The points copy each identity's fields: nothing refers to the inputs' objects.
  const counterPoints: CounterPoint[] = [];
  for (const { id, value, lastSeenMs } of counters.entries) {
    if (++k % CHUNK_SERIES === 0) yield;
    const { name, tags, host, tagsKey } = id;
    counterPoints.push({ name, tags, host, tagsKey, value, perSecond: value / intervalSeconds, lastSeenMs });
  }
  const gaugePoints: GaugePoint[] = [];
  for (const { id, value, lastSeenMs } of gauges.entries) {
    if (++k % CHUNK_SERIES === 0) yield;
    const { name, tags, host, tagsKey } = id;
    gaugePoints.push({ name, tags, host, tagsKey, value, lastSeenMs });
  }
  const timerPoints: TimerPoint[] = [];
  for (const { id, values, sampled, folded } of timers.entries) {
    if (++k % CHUNK_SERIES === 0) yield;
    timerPoints.push(
      folded === undefined
        ? timerPoint(identity(id), values, sampled, intervalSeconds, stats)
        : foldedPoint(identity(id), folded, sampled, intervalSeconds, stats),
    );
  }
  return {
    timestampMs: newer.timestampMs,
    intervalSeconds,
    stats,
    counters: counterPoints,
    gauges: gaugePoints,
    timers: timerPoints,
    sets: sets.entries.map(({ id, members }): SetPoint => ({ ...identity(id), size: members.size, members })),
    ...(newer.rawNames !== undefined ? { rawNames: newer.rawNames } : {}),
  };
}

/** A merged timer past timer-exact-values: statistics from its histogram, representatives as values. */
function foldedPoint(
  id: SeriesIdentity,
  folded: FoldedTimer,
  sampled: number,
  intervalSeconds: number,
  cfg: StatsConfig,
): TimerPoint {
  const s = folded.stats(cfg.percentThresholds, cfg.disabledPercentiles, newTimerStats());
  return {
    ...id,
    ...s,
    count: Math.floor(sampled + 0.5),
    perSecond: sampled / intervalSeconds,
    sampledCount: sampled,
    values: folded.representatives(folded.exactLimit),
    histogram: folded,
  };
}

function timerPoint(
  id: SeriesIdentity,
  values: number[],
  sampled: number,
  intervalSeconds: number,
  cfg: StatsConfig,
): TimerPoint {
  const sorted = Float64Array.from(values).sort();
  const base = { ...id, count: Math.floor(sampled + 0.5), perSecond: sampled / intervalSeconds, sampledCount: sampled };
  if (sorted.length === 0) {
    return {
      ...base,
      min: 0,
      max: 0,
      mean: 0,
      median: 0,
      stdDev: 0,
      sum: 0,
      sumSquares: 0,
      percentiles: [],
      values: sorted,
    };
  }
  const s = computeTimerStats(sorted, cfg.percentThresholds, cfg.disabledPercentiles);
  return { ...base, ...s, percentiles: s.percentiles.map((p) => ({ ...p })), values: sorted };
}
