import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';
import { protoTypes } from './protobuf.js';

const require = createRequire(import.meta.url);
/** protobufjs (already loaded by {@link protoTypes} when a family is encoded). */
const protobuf = (): typeof Protobuf => require('protobufjs') as typeof Protobuf;
import type { TimerHistogramWire } from './timer-histogram-wire.js';

/**
 * Prometheus' protobuf exposition (`proto/prometheus-client.proto`): metric families as
 * plain data, encoded length-delimited, one after another, as a scrape that asks for
 * `application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited`
 * reads them. The one format that carries native histograms.
 */

/** The content type of the protobuf exposition. */
export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** `MetricType` of client_model. */
export const METRIC_TYPE = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 } as const;

export interface BucketSpan {
  offset: number;
  length: number;
}

/** One `Metric`: labels and one of its values. */
export interface MetricData {
  label: Array<{ name: string; value: string }>;
  counter?: { value: number };
  gauge?: { value: number };
  untyped?: { value: number };
  summary?: { sampleCount: number; sampleSum: number; quantile: Array<{ quantile: number; value: number }> };
  histogram?: {
    sampleCount: number;
    sampleSum: number;
    bucket: Array<{ cumulativeCount: number; upperBound: number }>;
    schema?: number;
    zeroThreshold?: number;
    zeroCount?: number;
    negativeSpan?: BucketSpan[];
    negativeDelta?: number[];
    positiveSpan?: BucketSpan[];
    positiveDelta?: number[];
  };
}

export interface MetricFamilyData {
  name: string;
  help: string;
  type: number;
  metric: MetricData[];
}

const load = protoTypes(new URL('../../proto/prometheus-client.proto', import.meta.url), {
  family: 'io.prometheus.client.MetricFamily',
});

/** Families, each length-delimited, as one body. */
export function encodeFamilies(families: readonly MetricFamilyData[]): Uint8Array {
  const type = load().family;
  const w = protobuf().Writer.create();
  for (const f of families) type.encodeDelimited(type.fromObject(f), w);
  return w.finish();
}

/** Decodes a delimited body (for tests and tools). */
export function decodeFamilies(bytes: Uint8Array): MetricFamilyData[] {
  const type = load().family;
  const r = protobuf().Reader.create(bytes);
  const out: MetricFamilyData[] = [];
  while (r.pos < r.len)
    out.push(type.toObject(type.decodeDelimited(r), { longs: Number, defaults: false }) as MetricFamilyData);
  return out;
}

/** The threshold of Prometheus' zero bucket (its default; the histogram's own zero bucket holds exact zeros). */
const ZERO_THRESHOLD = 2.938735877055719e-39;

/**
 * A base-2 exponential histogram (OpenTelemetry's bucket numbering: bucket i holds
 * (base^i, base^(i+1)]) as a native histogram's fields (Prometheus numbers the same bucket
 * i + 1), one span per sign, deltas between neighbours.
 */
export function nativeFields(
  w: TimerHistogramWire,
): Required<Omit<NonNullable<MetricData['histogram']>, 'sampleCount' | 'sampleSum' | 'bucket'>> {
  const side = (offset: number, counts: readonly number[]): { span: BucketSpan[]; delta: number[] } => {
    let first = 0;
    let last = counts.length - 1;
    while (first <= last && counts[first] === 0) first++;
    while (last >= first && counts[last] === 0) last--;
    if (first > last) return { span: [], delta: [] };
    const delta: number[] = [];
    let prev = 0;
    for (let i = first; i <= last; i++) {
      delta.push(counts[i]! - prev);
      prev = counts[i]!;
    }
    return { span: [{ offset: offset + first + 1, length: last - first + 1 }], delta };
  };
  const pos = side(w.PositiveOffset, w.PositiveCounts);
  const neg = side(w.NegativeOffset, w.NegativeCounts);
  return {
    schema: w.Scale,
    zeroThreshold: ZERO_THRESHOLD,
    zeroCount: w.ZeroCount,
    positiveSpan: pos.span,
    positiveDelta: pos.delta,
    negativeSpan: neg.span,
    negativeDelta: neg.delta,
  };
}
