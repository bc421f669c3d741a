import type { FlushSnapshot, SeriesIdentity } from '../../aggregator/snapshot.js';
import type { StatsdEvent } from '../../parser/sample.js';
import { gostatsdPercentileName, TIMER_SUB_METRICS } from '../shared/gostatsd-names.js';

/**
 * One series of Datadog's v1 series API as gostatsd writes it (keys in this order,
 * `host` and `tags` left out when empty): `{"host":…,"interval":…,"metric":…,
 * "points":[[ts,value]],"tags":[…],"type":"gauge"|"rate"}`.
 */
function series(
  id: SeriesIdentity,
  metric: string,
  value: number,
  type: 'gauge' | 'rate',
  ts: number,
  interval: number,
): string {
  let out = '{';
  if (id.host !== '') out += `"host":${JSON.stringify(id.host)},`;
  out += `"interval":${interval},"metric":${JSON.stringify(metric)},"points":[[${ts},${value}]]`;
  if (id.tags.length > 0) out += `,"tags":${JSON.stringify(id.tags)}`;
  return out + `,"type":"${type}"}`;
}

/**
 * A snapshot as Datadog series, each already JSON: counters as a `rate` per second and a
 * `<name>.count` gauge, timers as their sub-metrics (`count_ps` a rate), gauges, and set
 * sizes as gauges. Non-finite values are left out (JSON cannot carry them).
 */
export function datadogSeries(s: FlushSnapshot): string[] {
  const ts = Math.floor(s.timestampMs / 1000);
  const interval = s.intervalSeconds;
  const out: string[] = [];
  const add = (id: SeriesIdentity, metric: string, value: number, type: 'gauge' | 'rate'): void => {
    if (Number.isFinite(value)) out.push(series(id, metric, value, type, ts, interval));
  };
  for (const c of s.counters) {
    add(c, c.name, c.perSecond, 'rate');
    add(c, `${c.name}.count`, c.value, 'gauge');
  }
  for (const t of s.timers) {
    for (const [sub, get] of TIMER_SUB_METRICS)
      add(t, `${t.name}.${sub}`, get(t), sub === 'count_ps' ? 'rate' : 'gauge');
    for (const p of t.percentiles) add(t, `${t.name}.${gostatsdPercentileName(p)}`, p.value, 'gauge');
  }
  for (const g of s.gauges) add(g, g.name, g.value, 'gauge');
  for (const x of s.sets) add(x, x.name, x.size, 'gauge');
  return out;
}

/** `{"series":[…]}` of pre-serialised series. */
export function seriesPayload(series: readonly string[]): string {
  return `{"series":[${series.join(',')}]}`;
}

/** An event as Datadog's v1 events API takes it (gostatsd's fields and key order). */
export function eventPayload(e: StatsdEvent): string {
  const o: Record<string, unknown> = { title: e.title, text: e.text };
  if (e.dateHappened !== 0) o['date_happened'] = e.dateHappened;
  if (e.hostname !== '') o['host'] = e.hostname;
  if (e.aggregationKey !== '') o['aggregation_key'] = e.aggregationKey;
  if (e.sourceTypeName !== '') o['source_type_name'] = e.sourceTypeName;
  if (e.tags.length > 0) o['tags'] = e.tags;
  o['priority'] = e.priority;
  o['alert_type'] = e.alertType;
  return JSON.stringify(o);
}
