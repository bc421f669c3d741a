import type { FlushSnapshot, SeriesIdentity } from '../../aggregator/snapshot.js';
import { gostatsdPercentileName, TIMER_SUB_METRICS } from '../shared/gostatsd-names.js';

/** One PutMetricData datum (the SDK's `MetricDatum` fields this backend uses). */
export interface Datum {
  MetricName: string;
  Dimensions: Array<{ Name: string; Value: string }>;
  Timestamp: Date;
  Value: number;
  Unit: 'Count' | 'Count/Second' | 'Milliseconds' | 'None';
}

/** CloudWatch's limit on dimensions per datum. */
const MAX_DIMENSIONS = 10;

/** Tags as dimensions, as gostatsd's cloudwatch backend: `k:v` → k=v, a bare tag → value `set`; 10 at most. */
export function dimensions(id: SeriesIdentity): Array<{ Name: string; Value: string }> {
  const out: Array<{ Name: string; Value: string }> = [];
  for (const t of id.tags) {
    if (out.length === MAX_DIMENSIONS) break;
    const i = t.indexOf(':');
    const name = i < 0 ? t : t.slice(0, i);
    const value = i < 0 ? 'set' : t.slice(i + 1);
    if (name !== '' && value !== '') out.push({ Name: name, Value: value });
  }
  return out;
}

/** The unit of each timer sub-metric, as gostatsd's cloudwatch backend sends it (the rest Milliseconds). */
const TIMER_UNITS: Readonly<Record<string, Datum['Unit']>> = {
  count: 'Count',
  count_ps: 'Count/Second',
  sum_squares: 'None',
};

/**
 * A snapshot as CloudWatch data, named as gostatsd's cloudwatch backend names them:
 * `stats.counter.<n>.count` and `.per_second`, `stats.timers.<n>.<sub>`,
 * `stats.gauge.<n>`, `stats.set.<n>`. Non-finite values are left out (CloudWatch refuses them).
 */
export function cloudwatchData(s: FlushSnapshot): Datum[] {
  const ts = new Date(s.timestampMs);
  const out: Datum[] = [];
  const add = (id: SeriesIdentity, name: string, value: number, unit: Datum['Unit']): void => {
    if (Number.isFinite(value))
      out.push({ MetricName: name, Dimensions: dimensions(id), Timestamp: ts, Value: value, Unit: unit });
  };
  for (const c of s.counters) {
    add(c, `stats.counter.${c.name}.count`, c.value, 'Count');
    add(c, `stats.counter.${c.name}.per_second`, c.perSecond, 'Count/Second');
  }
  for (const t of s.timers) {
    for (const [sub, get] of TIMER_SUB_METRICS)
      add(t, `stats.timers.${t.name}.${sub}`, get(t), TIMER_UNITS[sub] ?? 'Milliseconds');
    for (const p of t.percentiles)
      add(
        t,
        `stats.timers.${t.name}.${gostatsdPercentileName(p)}`,
        p.value,
        p.stat === 'count' ? 'Count' : 'Milliseconds',
      );
  }
  for (const g of s.gauges) add(g, `stats.gauge.${g.name}`, g.value, 'None');
  for (const x of s.sets) add(x, `stats.set.${x.name}`, x.size, 'Count');
  return out;
}
