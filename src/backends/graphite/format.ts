import type { FlushSnapshot, SeriesIdentity } from '../../aggregator/snapshot.js';
import { CHUNK_SERIES } from '../../shared/cooperative.js';
import type { DisabledSubMetrics } from '../backend.js';
import { goFixed } from '../shared/go-format.js';
import { gostatsdPercentileName } from '../shared/gostatsd-names.js';
import type { GraphiteConfig } from './config.js';

/** gostatsd's Graphite name sanitising: whitespace → `_`, `/` → `-`, anything outside `[A-Za-z0-9_.-]` dropped. */
export function sanitiseName(name: string): string {
  return /^[A-Za-z0-9_.-]*$/.test(name)
    ? name
    : name
        .replace(/\s/g, '_')
        .replaceAll('/', '-')
        .replace(/[^A-Za-z0-9_.-]/g, '');
}

/** A Graphite 1.1 tag name or value: no `;`, `~`, `!`, `=` or spaces. */
function tagPart(s: string): string {
  return s.replace(/\s/g, '_').replace(/[;~!=^]/g, '');
}

/** `;k=v` for each tag (`k:v`, or a bare `t` as `t=true`) and `;host=<h>`, for `mode = "tags"`. */
function tagSuffix(id: SeriesIdentity): string {
  let out = '';
  for (const t of id.tags) {
    const i = t.indexOf(':');
    const k = tagPart(i < 0 ? t : t.slice(0, i));
    const v = tagPart(i < 0 ? 'true' : t.slice(i + 1));
    if (k !== '' && v !== '') out += `;${k}=${v}`;
  }
  if (id.host !== '') out += `;host=${tagPart(id.host)}`;
  return out;
}

/** The path prefixes of each kind, from the section. */
interface Paths {
  counterCount: string;
  counterRate: string;
  countSuffix: string;
  rateSuffix: string;
  timer: string;
  gauge: string;
  set: string;
  suffix: string;
}

function paths(c: GraphiteConfig): Paths {
  const suffix = c.globalSuffix === '' ? '' : '.' + c.globalSuffix;
  if (c.legacyNamespace)
    return {
      counterCount: 'stats_counts.',
      counterRate: 'stats.',
      countSuffix: '',
      rateSuffix: '',
      timer: 'stats.timers.',
      gauge: 'stats.gauges.',
      set: 'stats.sets.',
      suffix,
    };
  const join = (...parts: string[]): string =>
    parts
      .filter((p) => p !== '')
      .map((p) => p + '.')
      .join('');
  const counter = join(c.globalPrefix, c.prefixCounter);
  return {
    counterCount: counter,
    counterRate: counter,
    countSuffix: '.count',
    rateSuffix: '.rate',
    timer: join(c.globalPrefix, c.prefixTimer),
    gauge: join(c.globalPrefix, c.prefixGauge),
    set: join(c.globalPrefix, c.prefixSet),
    suffix,
  };
}

/**
 * Renders a snapshot as gostatsd's graphite backend does (`path value timestamp` lines,
 * floats with six decimals), yielding every {@link CHUNK_SERIES} series; returns the
 * lines' text and count.
 */
export function* renderGraphite(
  s: FlushSnapshot,
  c: GraphiteConfig,
  disabled: DisabledSubMetrics,
): Generator<void, { text: string; lines: number }> {
  const p = paths(c);
  const ts = ` ${Math.floor(s.timestampMs / 1000)}\n`;
  const tagged = c.tagged;
  const parts: string[] = [];
  let lines = 0;
  let k = 0;
  const name = (id: SeriesIdentity): string => sanitiseName(id.name);
  const line = tagged
    ? (path: string, value: string, id: SeriesIdentity): void => {
        parts.push(`${path}${p.suffix}${tagSuffix(id)} ${value}${ts}`);
        lines++;
      }
    : (path: string, value: string): void => {
        parts.push(`${path}${p.suffix} ${value}${ts}`);
        lines++;
      };
  for (const x of s.counters) {
    const n = name(x);
    line(p.counterCount + n + p.countSuffix, String(x.value), x);
    line(p.counterRate + n + p.rateSuffix, goFixed(x.perSecond), x);
    if (++k % CHUNK_SERIES === 0) yield;
  }
  for (const t of s.timers) {
    const n = p.timer + name(t);
    if (!disabled.lower) line(n + '.lower', goFixed(t.min), t);
    if (!disabled.upper) line(n + '.upper', goFixed(t.max), t);
    if (!disabled.count) line(n + '.count', String(t.count), t);
    if (!disabled.countPerSecond) line(n + '.count_ps', goFixed(t.perSecond), t);
    if (!disabled.mean) line(n + '.mean', goFixed(t.mean), t);
    if (!disabled.median) line(n + '.median', goFixed(t.median), t);
    if (!disabled.stddev) line(n + '.std', goFixed(t.stdDev), t);
    if (!disabled.sum) line(n + '.sum', goFixed(t.sum), t);
    if (!disabled.sumSquares) line(n + '.sum_squares', goFixed(t.sumSquares), t);
    for (const pct of t.percentiles) line(`${n}.${gostatsdPercentileName(pct)}`, goFixed(pct.value), t);
    if (++k % CHUNK_SERIES === 0) yield;
  }
  for (const g of s.gauges) {
    line(p.gauge + name(g), goFixed(g.value), g);
    if (++k % CHUNK_SERIES === 0) yield;
  }
  for (const x of s.sets) {
    line(p.set + name(x), String(x.size), x);
    if (++k % CHUNK_SERIES === 0) yield;
  }
  return { text: parts.join(''), lines };
}
