import { CHUNK_SERIES } from '../../shared/cooperative.js';
import { nativeFields, type BucketSpan } from '../../shared/metric-family.js';
import type { FoldedTimer } from '../../aggregator/folded-timer.js';
import { protoTypes } from '../../shared/protobuf.js';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { gostatsdPercentileName, TIMER_SUB_METRICS } from '../shared/gostatsd-names.js';
import { escapeMetricName, tagLabel } from '../prometheus/names.js';
import { summaryQuantiles, type Family, type PromSeries, type PromStore } from '../prometheus/store.js';

/** A remote-write label. */
export interface Label {
  name: string;
  value: string;
}

/** A native histogram of a WriteRequest (integer counts). */
export interface NativeHistogram {
  countInt: number;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCountInt: number;
  negativeSpans: BucketSpan[];
  negativeDeltas: number[];
  positiveSpans: BucketSpan[];
  positiveDeltas: number[];
  timestamp: number;
}

/** One time series of a WriteRequest: sorted labels (`__name__` among them) and its samples or native histograms. */
export interface TimeSeries {
  labels: Label[];
  samples: Array<{ value: number; timestamp: number }>;
  histograms?: NativeHistogram[];
}

const load = protoTypes(new URL('../../../proto/remote-write.proto', import.meta.url), {
  request: 'prometheus.WriteRequest',
});

/** Encodes a `WriteRequest` (protobuf, not yet compressed). */
export function encodeWriteRequest(timeseries: TimeSeries[]): Uint8Array {
  return load().request.encode({ timeseries }).finish();
}

/** Decodes a `WriteRequest` (for tests and tools). */
export function decodeWriteRequest(bytes: Uint8Array): { timeseries: TimeSeries[] } {
  const type = load().request;
  const m = type.toObject(type.decode(bytes), { longs: Number, defaults: true }) as { timeseries?: TimeSeries[] };
  return { timeseries: m.timeseries ?? [] };
}

/**
 * A cumulative native histogram at `timestampMs`: its own count and sum (whole counts, so
 * that they agree with the buckets), its schema and buckets as spans and deltas.
 */
export function nativeHistogram(h: FoldedTimer, timestampMs: number): NativeHistogram {
  const f = nativeFields(h.toWire());
  return {
    countInt: h.count,
    sum: h.sum,
    schema: f.schema,
    zeroThreshold: f.zeroThreshold,
    zeroCountInt: f.zeroCount,
    negativeSpans: f.negativeSpan,
    negativeDeltas: f.negativeDelta,
    positiveSpans: f.positiveSpan,
    positiveDeltas: f.positiveDelta,
    timestamp: timestampMs,
  };
}

/** Remote write wants labels sorted by name, byte order. */
function sorted(labels: Label[]): Label[] {
  return labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function labelsOf(name: string, s: PromSeries, extra?: Label): Label[] {
  const out: Label[] = [{ name: '__name__', value: name }];
  for (const [n, v] of s.labels) out.push({ name: n, value: v });
  if (extra !== undefined) out.push(extra);
  return sorted(out);
}

/** How a counter's value is sent: its cumulative total, or what it added since the last successful write. */
export type CounterValue = (f: Family, s: PromSeries) => number;

/**
 * Every series of the store as remote-write time series at `timestampMs`, as a scrape
 * would see them: counters and gauges, histogram buckets (`le`, `+Inf`), `_sum` and
 * `_count`, summary quantiles. With `native`, a histogram that keeps a native histogram
 * (its mapping's `native_histogram_bucket_factor`) is that one series instead, as a
 * Prometheus scraping it with native histograms on stores it. Yields every
 * {@link CHUNK_SERIES} series; returns the series.
 */
export function* storeSeries(
  store: PromStore,
  timestampMs: number,
  counterValue: CounterValue,
  native = false,
): Generator<void, TimeSeries[]> {
  const out: TimeSeries[] = [];
  const push = (labels: Label[], value: number): void => {
    if (!Number.isNaN(value)) out.push({ labels, samples: [{ value, timestamp: timestampMs }] });
  };
  let k = 0;
  for (const f of store.families.values()) {
    for (const s of f.series.values()) {
      if (f.type === 'counter') push(labelsOf(f.name, s), counterValue(f, s));
      else if (f.type === 'gauge') push(labelsOf(f.name, s), s.value);
      else if (native && s.native !== undefined) {
        if (s.native.count > 0)
          out.push({ labels: labelsOf(f.name, s), samples: [], histograms: [nativeHistogram(s.native, timestampMs)] });
      } else {
        if (f.type === 'histogram') {
          f.buckets.forEach((b, i) =>
            push(labelsOf(`${f.name}_bucket`, s, { name: 'le', value: String(b) }), s.buckets![i]!),
          );
          push(labelsOf(`${f.name}_bucket`, s, { name: 'le', value: '+Inf' }), s.count);
        } else {
          const qs = summaryQuantiles(f, s, timestampMs);
          f.quantiles.forEach((q, i) =>
            push(labelsOf(f.name, s, { name: 'quantile', value: String(q.quantile) }), qs[i]!),
          );
        }
        push(labelsOf(`${f.name}_sum`, s), s.value);
        push(labelsOf(`${f.name}_count`, s), s.count);
      }
      if (++k % CHUNK_SERIES === 0) yield;
    }
  }
  return out;
}

/**
 * The interval's timers as gostatsd's sub-metrics, one gauge series each
 * (`<name>_lower`, …, `<name>_upper_90`), labelled by the timer's `key:value` tags.
 * Timers without values this interval are left out.
 */
export function timerSubMetrics(s: FlushSnapshot): TimeSeries[] {
  const out: TimeSeries[] = [];
  for (const t of s.timers) {
    if (t.values.length === 0) continue;
    const tags: Label[] = [];
    for (const tag of t.tags) {
      const l = tagLabel(tag);
      if (l !== undefined) tags.push({ name: l[0], value: l[1] });
    }
    const base = escapeMetricName(t.name);
    const push = (sub: string, value: number): void =>
      void out.push({
        labels: sorted([{ name: '__name__', value: `${base}_${sub}` }, ...tags]),
        samples: [{ value, timestamp: s.timestampMs }],
      });
    for (const [sub, get] of TIMER_SUB_METRICS) push(sub, get(t));
    for (const p of t.percentiles) push(gostatsdPercentileName(p), p.value);
  }
  return out;
}
