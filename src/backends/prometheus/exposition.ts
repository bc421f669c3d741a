import type { ExpositionFormat } from '../../shared/exposition-format.js';
import { METRIC_TYPE, nativeFields, type MetricData, type MetricFamilyData } from '../../shared/metric-family.js';
import { summaryQuantiles, type Family, type PromSeries, type PromStore } from './store.js';

/** A sample value as Prometheus writes it. */
function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** A bound for `le`/`quantile`: OpenMetrics wants canonical floats (`1.0`, not `1`). */
function bound(v: number, format: ExpositionFormat): string {
  if (v === Infinity) return '+Inf';
  return format === 'openmetrics' && Number.isInteger(v) ? v.toFixed(1) : String(v);
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Lines per chunk: small enough that writing one chunk never blocks for long. */
export const CHUNK_LINES = 2000;

/**
 * Writes the store as an exposition, one chunk (about {@link CHUNK_LINES} lines) per
 * step, so the caller can yield to the event loop between chunks, also inside a family
 * of many series. OpenMetrics ends with `# EOF` (unless `eof` is false: the page goes on);
 * its counter samples carry `_total` on a family name without it.
 */
export function* exposition(store: PromStore, format: ExpositionFormat, nowMs: number, eof = true): Generator<string> {
  let buf = '';
  let lines = 0;
  const line = (s: string): void => {
    buf += s + '\n';
    lines++;
  };
  for (const f of store.families.values()) {
    const family = format === 'openmetrics' && f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
    const sample = format === 'openmetrics' && f.type === 'counter' ? `${family}_total` : f.name;
    line(`# HELP ${family} ${escapeHelp(f.help)}`);
    line(`# TYPE ${family} ${f.type}`);
    for (const s of f.series.values()) {
      writeSeries(f, s, sample, format, nowMs, line);
      if (lines >= CHUNK_LINES) {
        yield buf;
        buf = '';
        lines = 0;
      }
    }
  }
  if (format === 'openmetrics' && eof) buf += '# EOF\n';
  if (buf !== '') yield buf;
}

/** The lines of one series. */
function writeSeries(
  f: Family,
  s: PromSeries,
  sample: string,
  format: ExpositionFormat,
  nowMs: number,
  line: (s: string) => void,
): void {
  const labels = s.labelPairs === '' ? '' : `{${s.labelPairs}}`;
  if (f.type === 'counter' || f.type === 'gauge') {
    line(`${sample}${labels} ${num(s.value)}`);
    return;
  }
  const sep = s.labelPairs === '' ? '' : ',';
  if (f.type === 'histogram') {
    const b = s.buckets!;
    for (let i = 0; i < f.buckets.length; i++)
      line(`${f.name}_bucket{${s.labelPairs}${sep}le="${bound(f.buckets[i]!, format)}"} ${num(b[i]!)}`);
    line(`${f.name}_bucket{${s.labelPairs}${sep}le="+Inf"} ${num(s.count)}`);
  } else {
    const qs = summaryQuantiles(f, s, nowMs);
    f.quantiles.forEach((q, i) =>
      line(`${f.name}{${s.labelPairs}${sep}quantile="${bound(q.quantile, format)}"} ${num(qs[i]!)}`),
    );
  }
  line(`${f.name}_sum${labels} ${num(s.value)}`);
  line(`${f.name}_count${labels} ${num(s.count)}`);
}

/**
 * The store as protobuf families (the format of native histograms), in chunks of about
 * {@link CHUNK_LINES} series so the caller can yield between them; a family of many
 * series may span chunks (the parts carry its name, type and help each).
 */
export function* protobufFamilies(store: PromStore, nowMs: number): Generator<MetricFamilyData[]> {
  let out: MetricFamilyData[] = [];
  let n = 0;
  for (const f of store.families.values()) {
    let part: MetricFamilyData = { name: f.name, help: f.help, type: METRIC_TYPE[f.type], metric: [] };
    out.push(part);
    for (const s of f.series.values()) {
      part.metric.push(metricOf(f, s, nowMs));
      if (++n >= CHUNK_LINES) {
        yield out;
        part = { name: f.name, help: f.help, type: METRIC_TYPE[f.type], metric: [] };
        out = [part];
        n = 0;
      }
    }
  }
  out = out.filter((p) => p.metric.length > 0);
  if (out.length > 0) yield out;
}

/** One series as a protobuf `Metric`. */
function metricOf(f: Family, s: PromSeries, nowMs: number): MetricData {
  const label = s.labels.map(([name, value]) => ({ name, value }));
  if (f.type === 'counter') return { label, counter: { value: s.value } };
  if (f.type === 'gauge') return { label, gauge: { value: s.value } };
  if (f.type === 'summary') {
    const qs = summaryQuantiles(f, s, nowMs);
    return {
      label,
      summary: {
        sampleCount: Math.round(s.count),
        sampleSum: s.value,
        quantile: f.quantiles.map((q, i) => ({ quantile: q.quantile, value: qs[i]! })),
      },
    };
  }
  const b = s.buckets!;
  return {
    label,
    histogram: {
      sampleCount: Math.round(s.count),
      sampleSum: s.value,
      bucket: f.buckets.map((upperBound, i) => ({ cumulativeCount: Math.round(b[i]!), upperBound })),
      ...(s.native === undefined ? {} : nativeFields(s.native.toWire())),
    },
  };
}
