import type { TimerHistogramWire } from '../shared/timer-histogram-wire.js';
/** What identifies a series: name, sorted tags and source host (docs/semantics.md#series-identity). */
export interface SeriesIdentity {
  /** Metric name including the namespace. */
  readonly name: string;
  /** Tags, de-duplicated and sorted by UTF-8 byte order. */
  readonly tags: readonly string[];
  /** Source host (sender IP, `host:` tag value, or `''`). */
  readonly host: string;
  /** Sorted tags joined by `,`, plus `,s:<host>` when the host is not empty. */
  readonly tagsKey: string;
}

/** A counter after a flush interval. */
export interface CounterPoint extends SeriesIdentity {
  /** Sum of truncated per-sample increments (`trunc(value / rate)`). */
  readonly value: number;
  /** `value` divided by the measured interval in seconds. */
  readonly perSecond: number;
  /**
   * When its last sample arrived, ms since the epoch (a counter is flushed every interval
   * until it expires, as 0 when idle; see {@link hadSamples}). It may be later than the flush.
   */
  readonly lastSeenMs: number;
}

/**
 * Which statistic of the values up to a threshold a percentile entry holds: their
 * `count`, `mean`, `sum`, `sum_squares`, or the boundary value (`upper` for a positive
 * threshold, `lower` for a negative one, which counts from the top).
 */
export type PercentileStat = 'count' | 'mean' | 'sum' | 'sum_squares' | 'upper' | 'lower';

/**
 * One percentile statistic of a timer, with its threshold as the real number configured
 * (`99.9`, `-10`). Backends derive their own names from it: the gostatsd-style text and
 * SepAgent backends write `upper_99` for 99.9, Prometheus wants `quantile="0.999"`.
 */
export interface TimerPercentile {
  readonly stat: PercentileStat;
  readonly threshold: number;
  readonly value: number;
}

/** Which percentile statistics to leave out (`[disabled-sub-metrics]` `*-pct` keys). */
export interface DisabledPercentiles {
  count: boolean;
  mean: boolean;
  sum: boolean;
  sumSquares: boolean;
  /** `lower` (thresholds <= 0). */
  lower: boolean;
  /** `upper` (thresholds > 0). */
  upper: boolean;
}

/** Disabled base timer sub-metrics (`[disabled-sub-metrics]`), honoured by the backends that write the gostatsd sub-metrics. */
export interface DisabledSubMetrics {
  count: boolean;
  countPerSecond: boolean;
  mean: boolean;
  median: boolean;
  lower: boolean;
  upper: boolean;
  stddev: boolean;
  sum: boolean;
  sumSquares: boolean;
}

/** The settings a snapshot's timer statistics were computed with. */
export interface StatsConfig {
  /** `percent-threshold`, in the configured order, each in [-100, 100]. */
  readonly percentThresholds: readonly number[];
  readonly disabledPercentiles: DisabledPercentiles;
}

/** A timer (or histogram) after a flush interval. All fields are 0 when it had no samples. */
export interface TimerPoint extends SeriesIdentity {
  readonly min: number;
  readonly max: number;
  /** `floor(sampledCount + 0.5)`. */
  readonly count: number;
  /** `sampledCount / interval seconds`. */
  readonly perSecond: number;
  readonly mean: number;
  readonly median: number;
  /** Population standard deviation of the raw values. */
  readonly stdDev: number;
  readonly sum: number;
  readonly sumSquares: number;
  /** Percentile entries in threshold order (see {@link FlushSnapshot.stats}); empty when the timer had no samples. */
  readonly percentiles: readonly TimerPercentile[];
  /** Sum of `1 / rate` over the samples. */
  readonly sampledCount: number;
  /**
   * The raw values of the interval, sorted ascending; past `timer-exact-values`, as many
   * representatives at evenly spaced ranks (each stands for `count / values.length` values).
   */
  readonly values: Float64Array | readonly number[];
  /** The interval's histogram when it had more values than `timer-exact-values` (merging intervals merges it). */
  readonly histogram?: TimerHistogram | undefined;
}

/**
 * A timer interval past `timer-exact-values`, folded into a base-2 exponential histogram
 * (the aggregator's FoldedTimer): what a reader may ask of it.
 */
export interface TimerHistogram {
  /** Values folded in. */
  readonly count: number;
  /** The histogram's scale (`base = 2^(2^−scale)`). */
  readonly scale: number;
  /** The largest relative error of a value read at a rank. */
  readonly relativeError: number;
  readonly maxBuckets: number;
  /** The exact-value limit it was folded at. */
  readonly exactLimit: number;
  /** As `TimerHistogramV2`, for the forwarder. */
  toWire(): TimerHistogramWire;
}

/** A gauge: its current value. */
export interface GaugePoint extends SeriesIdentity {
  readonly value: number;
  /**
   * When it was last set, ms since the epoch (a gauge is flushed every interval until it
   * expires; this tells whether it was set in this one). It may be later than the flush.
   */
  readonly lastSeenMs: number;
}

/** A set: the distinct members seen in the interval. */
export interface SetPoint extends SeriesIdentity {
  readonly size: number;
  readonly members: ReadonlySet<string>;
}

/**
 * FlushSnapshot is one consolidated interval of aggregates: every series of every shard.
 *
 * Backends MUST treat it as read-only and read entries only through these interfaces
 * (an entry may be a larger object, e.g. the live series itself). It is valid until the
 * flush it was handed to settles (or its deadline passes): the next flush refreshes the
 * same arrays and entry objects in place, so a backend that keeps data for later copies
 * what it needs. Within a kind,
 * series appear in the order they were first seen (stable across flushes and
 * independent of the number of workers).
 */
export interface FlushSnapshot {
  /** Wall-clock time of the flush, ms since the epoch. */
  readonly timestampMs: number;
  /** Measured time since the previous flush, in seconds (the `per_second` denominator). */
  readonly intervalSeconds: number;
  /** The percentile thresholds (as numbers) and disabled statistics the timers were computed with. */
  readonly stats: StatsConfig;
  readonly counters: readonly CounterPoint[];
  readonly timers: readonly TimerPoint[];
  readonly gauges: readonly GaugePoint[];
  readonly sets: readonly SetPoint[];
  /**
   * The names as clients wrote them, for the series whose name normalisation changed
   * (`get/threads` became `get-threads`, an emoji was dropped): normalised name → the first
   * raw name seen. Backends with the peer's naming rules (Prometheus, as statsd_exporter
   * names them) map and escape the raw name; the others use `name`. Bounded; absent in
   * snapshots not cut by the aggregator.
   */
  readonly rawNames?: ReadonlyMap<string, string>;
}

/**
 * Whether a counter or gauge of `s` received samples in the interval `s` ends (its last
 * sample came at or after the previous flush), as opposed to being reported while idle until it
 * expires. A sample that arrives while backends still read `s` counts for it too.
 */
export function hadSamples(s: FlushSnapshot, p: CounterPoint | GaugePoint): boolean {
  return p.lastSeenMs >= s.timestampMs - s.intervalSeconds * 1000;
}

/** The number of series of a snapshot, of every kind. */
export function seriesOf(s: FlushSnapshot): number {
  return s.counters.length + s.gauges.length + s.timers.length + s.sets.length;
}
