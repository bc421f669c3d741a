import type { FlushSnapshot, SeriesIdentity } from '../../aggregator/snapshot.js';
import type { ServiceCheck, StatsdEvent } from '../../parser/sample.js';
import { gostatsdPercentileName, TIMER_SUB_METRICS } from '../shared/gostatsd-names.js';
import { EnvoyTagExtractor } from '../../shared/envoy-tags.js';

/**
 * One series of Datadog's v1 series API as gostatsd writes it (keys in this order,
 * `host` and `tags` left out when empty): `{"host":…,"interval":…,"metric":…,
 * "points":[[ts,value]],"tags":[…],"type":"gauge"|"rate"}`.
 */
function series(
  host: string,
  tags: readonly string[],
  metric: string,
  value: number,
  type: 'gauge' | 'rate',
  ts: number,
  interval: number,
): string {
  let out = '{';
  if (host !== '') out += `"host":${JSON.stringify(host)},`;
  out += `"interval":${interval},"metric":${JSON.stringify(metric)},"points":[[${ts},${value}]]`;
  if (tags.length > 0) out += `,"tags":${JSON.stringify(tags)}`;
  return out + `,"type":"${type}"}`;
}

/**
 * A snapshot as Datadog series, each already JSON: counters as a `rate` per second and a
 * `<name>.count` gauge, timers as their sub-metrics (`count_ps` a rate), gauges, and set
 * sizes as gauges. Non-finite values are left out (JSON cannot carry them).
 */
export function datadogSeries(s: FlushSnapshot, envoy = new EnvoyTagExtractor('off')): string[] {
  const ts = Math.floor(s.timestampMs / 1000);
  const interval = s.intervalSeconds;
  const out: string[] = [];
  // The series' name and tags, with Envoy's name segments taken out as tags when configured.
  let host = '';
  let tags: readonly string[] = [];
  const of = (id: SeriesIdentity): string => {
    const e = envoy.apply(id.name, id.tags);
    host = id.host;
    tags = e.tags;
    return e.name;
  };
  const add = (metric: string, value: number, type: 'gauge' | 'rate'): void => {
    if (Number.isFinite(value)) out.push(series(host, tags, metric, value, type, ts, interval));
  };
  for (const c of s.counters) {
    const name = of(c);
    add(name, c.perSecond, 'rate');
    add(`${name}.count`, c.value, 'gauge');
  }
  for (const t of s.timers) {
    const name = of(t);
    for (const [sub, get] of TIMER_SUB_METRICS) add(`${name}.${sub}`, get(t), sub === 'count_ps' ? 'rate' : 'gauge');
    for (const p of t.percentiles) add(`${name}.${gostatsdPercentileName(p)}`, p.value, 'gauge');
  }
  for (const g of s.gauges) add(of(g), g.value, 'gauge');
  for (const x of s.sets) add(of(x), x.size, 'gauge');
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

/**
 * A service check as Datadog's v1 check_run API takes it: `{"check","host_name","status",
 * "timestamp","message","tags"}` (status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
 */
export function serviceCheckPayload(c: ServiceCheck): string {
  const o: Record<string, unknown> = { check: c.name, host_name: c.hostname, status: c.status, timestamp: c.timestamp };
  if (c.message !== '') o['message'] = c.message;
  o['tags'] = c.tags;
  return JSON.stringify(o);
}
