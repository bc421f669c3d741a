import type {
  CounterPoint,
  FlushSnapshot,
  GaugePoint,
  SeriesIdentity,
  SetPoint,
  StatsConfig,
  TimerPoint,
} from './snapshot.js';
import { computeTimerStats } from './timer-stats.js';

/** The key of a series within one kind: name and tags (the tags key includes the host). */
function keyOf(p: SeriesIdentity): string {
  return p.name + '\n' + p.tagsKey;
}

function identity(p: SeriesIdentity): SeriesIdentity {
  return { name: p.name, tags: p.tags, host: p.host, tagsKey: p.tagsKey };
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
  const intervalSeconds = older.intervalSeconds + newer.intervalSeconds;
  const stats = newer.stats;

  const counters = new Map<string, { id: SeriesIdentity; value: number }>();
  for (const c of [...older.counters, ...newer.counters]) {
    const k = keyOf(c);
    const e = counters.get(k);
    if (e === undefined) counters.set(k, { id: identity(c), value: c.value });
    else e.value += c.value;
  }

  const gauges = new Map<string, GaugePoint>();
  for (const g of [...older.gauges, ...newer.gauges]) {
    const k = keyOf(g);
    const prev = gauges.get(k);
    // Setting a key again keeps its first-seen place in the Map.
    gauges.set(k, {
      ...identity(prev ?? g),
      value: g.value,
      lastSeenMs: Math.max(g.lastSeenMs, prev?.lastSeenMs ?? 0),
    });
  }

  const timers = new Map<string, { id: SeriesIdentity; values: number[]; sampled: number }>();
  for (const t of [...older.timers, ...newer.timers]) {
    const k = keyOf(t);
    let e = timers.get(k);
    if (e === undefined) timers.set(k, (e = { id: identity(t), values: [], sampled: 0 }));
    for (const v of t.values) e.values.push(v);
    e.sampled += t.sampledCount;
  }

  const sets = new Map<string, { id: SeriesIdentity; members: Set<string> }>();
  for (const s of [...older.sets, ...newer.sets]) {
    const k = keyOf(s);
    let e = sets.get(k);
    if (e === undefined) sets.set(k, (e = { id: identity(s), members: new Set() }));
    for (const m of s.members) e.members.add(m);
  }

  return {
    timestampMs: newer.timestampMs,
    intervalSeconds,
    stats,
    counters: [...counters.values()].map(({ id, value }): CounterPoint => ({
      ...id,
      value,
      perSecond: value / intervalSeconds,
    })),
    gauges: [...gauges.values()],
    timers: [...timers.values()].map(({ id, values, sampled }) =>
      timerPoint(id, values, sampled, intervalSeconds, stats),
    ),
    sets: [...sets.values()].map(({ id, members }): SetPoint => ({ ...id, size: members.size, members })),
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
