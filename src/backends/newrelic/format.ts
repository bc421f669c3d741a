import type { FlushSnapshot, SeriesIdentity } from '../../aggregator/snapshot.js';
import { gostatsdPercentileName } from '../shared/gostatsd-names.js';
import type { NewRelicConfig } from './config.js';

type Attributes = Record<string, string | number>;

/** A tag's value as an attribute: numbers as numbers (`code:500` → 500), the rest as text. */
function tagValue(v: string): string | number {
  return /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) && Number.isFinite(Number(v)) ? Number(v) : v;
}

/**
 * A snapshot as New Relic metric events (one object per metric, gostatsd's attribute
 * names as configured): counters with their value and per-second rate, gauges, set sizes,
 * timers with their statistics and percentile groups. Tags become attributes (`k:v` →
 * `<tag-prefix>k`, numeric values as numbers, a bare tag as `true`), the host `host`.
 * Non-finite values are left out.
 */
export function newRelicMetrics(s: FlushSnapshot, c: NewRelicConfig): Attributes[] {
  const a = c.attributes;
  const out: Attributes[] = [];
  const base = (id: SeriesIdentity, type: string): Attributes => {
    const o: Attributes = {
      event_type: c.eventType,
      interval: s.intervalSeconds,
      timestamp: Math.floor(s.timestampMs / 1000),
    };
    for (const t of id.tags) {
      const i = t.indexOf(':');
      o[c.tagPrefix + (i < 0 ? t : t.slice(0, i))] = i < 0 ? 'true' : tagValue(t.slice(i + 1));
    }
    if (id.host !== '') o['host'] = id.host;
    o[a.metricName] = id.name;
    o[a.metricType] = type;
    return o;
  };
  const num = (o: Attributes, k: string, v: number): void => {
    if (Number.isFinite(v)) o[k] = v;
  };
  for (const x of s.counters) {
    const o = base(x, 'counter');
    num(o, a.value, x.value);
    num(o, a.perSecond, x.perSecond);
    out.push(o);
  }
  for (const t of s.timers) {
    const o = base(t, 'timer');
    num(o, a.timerMin, t.min);
    num(o, a.timerMax, t.max);
    num(o, a.timerCount, t.count);
    num(o, a.perSecond, t.perSecond);
    num(o, a.timerMean, t.mean);
    num(o, a.timerMedian, t.median);
    num(o, a.timerStdDev, t.stdDev);
    num(o, a.timerSum, t.sum);
    num(o, a.timerSumSquare, t.sumSquares);
    for (const p of t.percentiles) num(o, gostatsdPercentileName(p), p.value);
    out.push(o);
  }
  for (const g of s.gauges) {
    const o = base(g, 'gauge');
    num(o, a.value, g.value);
    out.push(o);
  }
  for (const x of s.sets) {
    const o = base(x, 'set');
    num(o, a.value, x.size);
    out.push(o);
  }
  return out;
}

/**
 * The request body: for the Infrastructure agent, its HTTP integration payload
 * (protocol 2: `{"name","protocol_version","integration_version","data":[{"metrics":[…]}]}`);
 * for the Insights insert API, the array of events, `event_type` written `eventType`.
 */
export function newRelicPayload(metrics: Attributes[], insights: boolean): string {
  if (insights) return JSON.stringify(metrics.map(({ event_type, ...rest }) => ({ eventType: event_type, ...rest })));
  return JSON.stringify({
    name: 'com.newrelic.gostatsd',
    protocol_version: '2',
    integration_version: '2.0.0',
    data: [{ metrics }],
  });
}
