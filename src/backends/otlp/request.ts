import { createRequire } from 'node:module';
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type * as OtlpTransformer from '@opentelemetry/otlp-transformer';
import type * as Resources from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type * as SdkMetrics from '@opentelemetry/sdk-metrics';
import type { ExponentialHistogram, Histogram, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DEFAULT_MAX_BUCKETS, FoldedTimer } from '../../aggregator/folded-timer.js';
import type { FlushSnapshot, TimerPoint } from '../../aggregator/snapshot.js';
import { CHUNK_SERIES } from '../../shared/cooperative.js';
import type { StatsdEvent } from '../../parser/sample.js';
import type { TimerHistogramWire } from '../../shared/timer-histogram-wire.js';
import { gostatsdPercentileName, TIMER_SUB_METRICS } from '../shared/gostatsd-names.js';
import type { DisabledTimerAggregations, OtlpConfig } from './config.js';

const require = createRequire(import.meta.url);

/** The OpenTelemetry packages this backend writes with, loaded at its first request. */
interface Otel {
  metrics: typeof SdkMetrics;
  transformer: typeof OtlpTransformer;
  resources: typeof Resources;
}
let otel: Otel | undefined;
/** Loads the OpenTelemetry packages (a backend does at start, so its first request does not wait for them). */
export function load(): Otel {
  otel ??= {
    metrics: require('@opentelemetry/sdk-metrics') as typeof SdkMetrics,
    transformer: require('@opentelemetry/otlp-transformer') as typeof OtlpTransformer,
    resources: require('@opentelemetry/resources') as typeof Resources,
  };
  return otel;
}

/** The instrumentation scope of everything this daemon exports. */
const SCOPE = { name: 'statsd-sepagent/aggregation', version: '1' } as const;

/** `ms` since the epoch as OpenTelemetry's [seconds, nanoseconds]. */
export function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

/** What decides where a series' tags go: this backend's settings and the pod's tags. */
export interface Placement {
  /** Tag names whose values describe the resource (`resource_keys`). */
  readonly resourceKeys: ReadonlySet<string>;
  /** Attributes every resource carries: `resource_attributes`, then the pod's. */
  readonly staticResource: Readonly<Record<string, string>>;
  /** The pod's `name:value` tags: the resource carries them, so data points do not. */
  readonly podTags: ReadonlySet<string>;
}

/** A series' tags split into resource attributes (with a key naming the resource) and data point attributes. */
export function place(
  tags: readonly string[],
  host: string,
  p: Placement,
): { resourceKey: string; resource: Attributes; attributes: Attributes } {
  const attributes: Record<string, AttributeValue> = {};
  const own: Array<[string, string]> = [];
  const put = (k: string, v: string): void => {
    const had = attributes[k] as string | string[] | undefined;
    // A key given twice keeps every value, as a list.
    attributes[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  };
  let hasHost = false;
  const visit = (tag: string): void => {
    if (p.podTags.has(tag)) return;
    const i = tag.indexOf(':');
    const k = i < 0 ? tag : tag.slice(0, i);
    const v = i < 0 ? '' : tag.slice(i + 1);
    if (k === 'host') hasHost = true;
    if (p.resourceKeys.has(k)) own.push([k, v]);
    else put(k, v);
  };
  for (const t of tags) visit(t);
  // The source host is an attribute, unless a `host` tag names one (gostatsd's rule).
  if (!hasHost && host !== '') visit(`host:${host}`);
  const resource: Record<string, string> = { ...p.staticResource };
  for (const [k, v] of own) resource[k] = v;
  return { resourceKey: own.length === 0 ? '' : JSON.stringify(own), resource, attributes };
}

type Kind = 'sum' | 'gauge' | 'histogram' | 'exponential';

/** One metric of a request under construction: a name and kind, and its points. */
interface Pending {
  name: string;
  kind: Kind;
  int: boolean;
  unit: string;
  monotonic: boolean;
  points: Array<{ attributes: Attributes; value: number | Histogram | ExponentialHistogram }>;
}

/** One request's content: resources in first-seen order, each with its metrics. */
export class MetricsBatch {
  readonly resources = new Map<string, { resource: Attributes; metrics: Map<string, Pending> }>();
  points = 0;

  add(
    resourceKey: string,
    resource: Attributes,
    name: string,
    kind: Kind,
    attributes: Attributes,
    value: number | Histogram | ExponentialHistogram,
    opts: { int?: boolean; unit?: string } = {},
  ): void {
    let r = this.resources.get(resourceKey);
    if (r === undefined) this.resources.set(resourceKey, (r = { resource, metrics: new Map() }));
    const key = `${kind}\u0000${name}`;
    let m = r.metrics.get(key);
    if (m === undefined)
      r.metrics.set(
        key,
        (m = { name, kind, int: opts.int === true, unit: opts.unit ?? '', monotonic: kind === 'sum', points: [] }),
      );
    // A counter that went down in the interval makes its sum non-monotonic.
    if (kind === 'sum' && typeof value === 'number' && value < 0) m.monotonic = false;
    m.points.push({ attributes, value });
    this.points++;
  }

  /** The batch in the OpenTelemetry SDK's model, one ResourceMetrics per resource. */
  toResourceMetrics(startMs: number, endMs: number): ResourceMetrics[] {
    const { metrics: sdk, resources } = load();
    const startTime = hrTime(startMs);
    const endTime = hrTime(endMs);
    const type: Record<Kind, SdkMetrics.DataPointType> = {
      sum: sdk.DataPointType.SUM,
      gauge: sdk.DataPointType.GAUGE,
      histogram: sdk.DataPointType.HISTOGRAM,
      exponential: sdk.DataPointType.EXPONENTIAL_HISTOGRAM,
    };
    return [...this.resources.values()].map((r) => ({
      resource: resources.resourceFromAttributes(r.resource),
      scopeMetrics: [
        {
          scope: SCOPE,
          metrics: [...r.metrics.values()].map(
            (m) =>
              ({
                descriptor: {
                  name: m.name,
                  description: '',
                  unit: m.unit,
                  // ValueType.INT (0) writes as_int, DOUBLE (1) as_double.
                  valueType: m.int ? 0 : 1,
                },
                aggregationTemporality: sdk.AggregationTemporality.DELTA,
                dataPointType: type[m.kind],
                isMonotonic: m.monotonic,
                dataPoints: m.points.map((p) => ({ startTime, endTime, attributes: p.attributes, value: p.value })),
              }) as MetricData,
          ),
        },
      ],
    }));
  }
}

/** Splits the points of a snapshot into batches of at most `perBatch` data points. */
export class Batcher {
  readonly batches: MetricsBatch[] = [];
  readonly #perBatch: number;
  #current: MetricsBatch | undefined;

  constructor(perBatch: number) {
    this.#perBatch = perBatch;
  }

  get current(): MetricsBatch {
    if (this.#current === undefined || this.#current.points >= this.#perBatch) {
      this.#current = new MetricsBatch();
      this.batches.push(this.#current);
    }
    return this.#current;
  }
}

/** A timer's histogram as OTLP's ExponentialHistogram: finite values only (OTLP has no bucket for infinities). */
export function exponentialOf(t: TimerPoint): ExponentialHistogram {
  const w: TimerHistogramWire = (
    t.histogram ?? FoldedTimer.of(t.values, t.values.length, DEFAULT_MAX_BUCKETS, t.values.length)
  ).toWire();
  const sumOf = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  const count = w.ZeroCount + sumOf(w.PositiveCounts) + sumOf(w.NegativeCounts);
  const h: ExponentialHistogram = {
    count,
    scale: w.Scale,
    zeroCount: w.ZeroCount,
    positive: { offset: w.PositiveOffset, bucketCounts: w.PositiveCounts },
    negative: { offset: w.NegativeOffset, bucketCounts: w.NegativeCounts },
  };
  if (count > 0 && Number.isFinite(w.Sum)) h.sum = w.Sum;
  if (count > 0 && Number.isFinite(w.Min)) h.min = w.Min;
  if (count > 0 && Number.isFinite(w.Max)) h.max = w.Max;
  return h;
}

/**
 * A timer as an explicit-bucket Histogram with `bounds` (none: count, sum, min and max
 * only, as gostatsd writes timers). Past `timer-exact-values` the counts come from the
 * representatives, each standing for an equal share of the values.
 */
export function histogramOf(t: TimerPoint, bounds: readonly number[]): Histogram {
  const n = t.values.length;
  const total = t.histogram?.count ?? n;
  const h: Histogram = {
    count: total,
    sum: t.sum,
    buckets: { boundaries: [...bounds], counts: [] },
  };
  if (total > 0) {
    h.min = t.min;
    h.max = t.max;
  }
  if (bounds.length > 0) {
    // Values are sorted: the count up to each bound, scaled from representatives to the total.
    let i = 0;
    let before = 0;
    for (const b of bounds) {
      while (i < n && t.values[i]! <= b) i++;
      const upTo = n === 0 ? 0 : Math.round((total * i) / n);
      h.buckets.counts.push(upTo - before);
      before = upTo;
    }
    h.buckets.counts.push(total - before);
  }
  return h;
}

/** gostatsd's timer gauges (`<name>.lower`, `.count`, `.upper_90`, …) that `disabled` keeps. */
export function timerGauges(
  t: TimerPoint,
  disabled: DisabledTimerAggregations,
): Array<{ name: string; value: number; int: boolean }> {
  const out: Array<{ name: string; value: number; int: boolean }> = [];
  for (const [suffix, read] of TIMER_SUB_METRICS)
    if (!disabled[suffix as keyof Omit<DisabledTimerAggregations, 'pct'>])
      out.push({ name: `${t.name}.${suffix}`, value: read(t), int: suffix === 'count' });
  for (const p of t.percentiles)
    if (!disabled.pct[p.stat]) out.push({ name: `${t.name}.${gostatsdPercentileName(p)}`, value: p.value, int: false });
  return out;
}

/**
 * Puts every series of `snapshot` into batches of at most `metrics_per_batch` data points,
 * yielding every {@link CHUNK_SERIES} series so that receiving goes on meanwhile.
 */
export function* metricBatches(
  snapshot: FlushSnapshot,
  config: OtlpConfig,
  p: Placement,
): Generator<void, MetricsBatch[]> {
  const b = new Batcher(config.metricsPerBatch);
  let k = 0;
  for (const c of snapshot.counters) {
    if (++k % CHUNK_SERIES === 0) yield;
    const at = place(c.tags, c.host, p);
    b.current.add(at.resourceKey, at.resource, c.name, 'sum', at.attributes, c.value, { int: true });
  }
  for (const g of snapshot.gauges) {
    if (++k % CHUNK_SERIES === 0) yield;
    const at = place(g.tags, g.host, p);
    b.current.add(at.resourceKey, at.resource, g.name, 'gauge', at.attributes, g.value);
  }
  for (const s of snapshot.sets) {
    if (++k % CHUNK_SERIES === 0) yield;
    const at = place(s.tags, s.host, p);
    b.current.add(at.resourceKey, at.resource, s.name, 'gauge', at.attributes, s.size, { int: true });
  }
  for (const t of snapshot.timers) {
    if (++k % CHUNK_SERIES === 0) yield;
    const at = place(t.tags, t.host, p);
    if (config.conversion === 'AsExponentialHistogram')
      b.current.add(at.resourceKey, at.resource, t.name, 'exponential', at.attributes, exponentialOf(t), {
        unit: 'ms',
      });
    else if (config.conversion === 'AsHistogram')
      b.current.add(
        at.resourceKey,
        at.resource,
        t.name,
        'histogram',
        at.attributes,
        histogramOf(t, config.histogramBuckets),
        {
          unit: 'ms',
        },
      );
    else
      for (const g of timerGauges(t, config.disabled))
        b.current.add(at.resourceKey, at.resource, g.name, 'gauge', at.attributes, g.value, { int: g.int });
  }
  return b.batches;
}

/** Serialises the resources of one batch as one ExportMetricsServiceRequest. */
export function encodeMetrics(resourceMetrics: ResourceMetrics[], encoding: 'protobuf' | 'json'): Uint8Array {
  const t = load().transformer;
  if (encoding === 'json') {
    // One request of every resource: the serializer's JSON, resources joined.
    const all = resourceMetrics.flatMap(
      (r) =>
        (
          JSON.parse(Buffer.from(t.JsonMetricsSerializer.serializeRequest(r) ?? new Uint8Array()).toString()) as {
            resourceMetrics: unknown[];
          }
        ).resourceMetrics,
    );
    return Buffer.from(JSON.stringify({ resourceMetrics: all }));
  }
  // Protobuf messages concatenate: repeated fields join, so the parts make one request.
  return Buffer.concat(resourceMetrics.map((r) => t.ProtobufMetricsSerializer.serializeRequest(r) ?? new Uint8Array()));
}

/**
 * The receiver's partial-success answer to a `metrics` or `logs` request: how many data
 * points or log records it refused, and why; undefined when it refused none.
 */
export function rejectedOf(
  signal: 'metrics' | 'logs',
  bytes: Uint8Array,
  encoding: 'protobuf' | 'json',
): { items: number; message: string } | undefined {
  const t = load().transformer;
  if (bytes.length === 0) return undefined;
  const json = encoding === 'json';
  const p =
    signal === 'metrics'
      ? (json ? t.JsonMetricsSerializer : t.ProtobufMetricsSerializer).deserializeResponse(bytes).partialSuccess
      : (json ? t.JsonLogsSerializer : t.ProtobufLogsSerializer).deserializeResponse(bytes).partialSuccess;
  if (p === undefined) return undefined;
  const n = 'rejectedDataPoints' in p ? p.rejectedDataPoints : 'rejectedLogRecords' in p ? p.rejectedLogRecords : 0;
  return { items: Number(n ?? 0), message: p.errorMessage ?? '' };
}

/** OpenTelemetry severities of an event's alert type. */
const SEVERITY: Record<string, { number: number; text: string }> = {
  error: { number: 17, text: 'ERROR' },
  warning: { number: 13, text: 'WARN' },
  info: { number: 9, text: 'INFO' },
  success: { number: 9, text: 'INFO' },
};

/**
 * An event as an OTLP log record: its text is the body; its title, the rest of its
 * fields and its tags are attributes (the tags of `resource_keys` go to the resource).
 */
export function eventLogRecord(e: StatsdEvent, config: OtlpConfig, p: Placement, nowMs: number): ReadableLogRecord {
  const { resources } = load();
  const at = place(e.tags, e.hostname, p);
  const severity = SEVERITY[e.alertType] ?? SEVERITY['info']!;
  const when = e.dateHappened > 0 ? e.dateHappened * 1000 : nowMs;
  return {
    hrTime: hrTime(when),
    hrTimeObserved: hrTime(nowMs),
    severityNumber: severity.number,
    severityText: severity.text,
    body: e.text,
    resource: resources.resourceFromAttributes(at.resource),
    instrumentationScope: SCOPE,
    attributes: {
      ...at.attributes,
      [config.eventTitleKey]: e.title,
      [config.eventPropertiesKey]: {
        priority: e.priority,
        alert_type: e.alertType,
        aggregation_key: e.aggregationKey,
        source_type_name: e.sourceTypeName,
      },
    },
    droppedAttributesCount: 0,
  };
}

/** Serialises log records as one ExportLogsServiceRequest. */
export function encodeLogs(records: ReadableLogRecord[], encoding: 'protobuf' | 'json'): Uint8Array {
  const t = load().transformer;
  const out =
    encoding === 'json'
      ? t.JsonLogsSerializer.serializeRequest(records)
      : t.ProtobufLogsSerializer.serializeRequest(records);
  return out ?? new Uint8Array();
}
