import { createRequire } from 'node:module';
import type { ExponentialHistogramAccumulation } from '@opentelemetry/sdk-metrics/build/src/aggregator/ExponentialHistogram.js';
import { putThreshold, type TimerStatsOut } from './timer-stats.js';
import type { DisabledPercentiles } from './snapshot.js';
import type { TimerHistogramWire } from '../shared/timer-histogram-wire.js';

type Accumulation = ExponentialHistogramAccumulation;
type AccumulationClass = typeof ExponentialHistogramAccumulation;

const require = createRequire(import.meta.url);
let Histogram: AccumulationClass | undefined;

/**
 * The OpenTelemetry SDK's base-2 exponential histogram (the structure of OTLP's
 * ExponentialHistogram and Prometheus native histograms: at most `maxBuckets` buckets per
 * sign, the scale lowered as the range grows), loaded at the first timer that needs it.
 */
function newHistogram(maxBuckets: number, maxScale: number): Accumulation {
  Histogram ??= (
    require('@opentelemetry/sdk-metrics/build/src/aggregator/ExponentialHistogram.js') as {
      ExponentialHistogramAccumulation: AccumulationClass;
    }
  ).ExponentialHistogramAccumulation;
  if (maxScale >= MAX_SCALE) return new Histogram([0, 0], maxBuckets, false);
  // A coarser finest scale (a Prometheus native histogram's schema): the same structure from its mapping.
  const { getMapping } =
    require('@opentelemetry/sdk-metrics/build/src/aggregator/exponential-histogram/mapping/getMapping.js') as {
      getMapping: (scale: number) => ConstructorParameters<AccumulationClass>[10];
    };
  return new Histogram(
    [0, 0],
    maxBuckets,
    false,
    0,
    0,
    0,
    Infinity,
    -Infinity,
    undefined,
    undefined,
    getMapping(maxScale),
  );
}

/** The finest scale the OpenTelemetry histogram takes (and its default). */
const MAX_SCALE = 20;

/**
 * The value that stands for bucket i, (base^i, base^(i+1)]: the point of equal relative
 * error to both ends, `2·lo·hi / (lo + hi)`, written so that it cannot overflow.
 */
function representative(base: number): (i: number) => number {
  const k = (2 * base) / (1 + base);
  return (i) => base ** i * k;
}

/** Values recorded into the histogram at once. */
const PENDING = 64;

/** `timer-max-buckets`' default: the OpenTelemetry SDK's, five decades within 4.4 %. */
export const DEFAULT_MAX_BUCKETS = 160;
/** `timer-exact-values`' default. */
export const DEFAULT_EXACT_LIMIT = 1000;
/** The bounds of `timer-max-buckets`, which a forwarded histogram's are held to as well. */
export const MIN_BUCKETS = 8;
export const MAX_BUCKETS = 16_384;

/** One bucket of a walk in value order: `count` values, represented by `value`. */
interface Run {
  value: number;
  count: number;
}

/**
 * The values of a timer series' interval past `timer-exact-values`: count, sum, sum of
 * squares, min and max exact; the values themselves in a base-2 exponential histogram
 * (bounded memory whatever the rate). Non-finite values are counted apart (the histogram
 * takes finite ones only). Order statistics come from the histogram: a value at a rank is
 * its bucket's representative `2·lo·hi / (lo + hi)`, clamped to [min, max], within a
 * relative error of `(base − 1) / (base + 1)` of the true value (`base = 2^(2^−scale)`).
 */
export class FoldedTimer {
  readonly #histogram: Accumulation;
  /**
   * Values not yet in the histogram: recorded in batches of {@link PENDING}, so one
   * series' buckets are touched while they are in the CPU's cache (a daemon interleaves
   * the samples of thousands of series).
   */
  readonly #pending = new Float64Array(PENDING);
  #pendingCount = 0;
  readonly maxBuckets: number;
  /** The exact-value limit it was folded at: how many representatives a backend gets. */
  readonly exactLimit: number;
  count = 0;
  sum = 0;
  sumSquares = 0;
  min = Infinity;
  max = -Infinity;
  #negInf = 0;
  #posInf = 0;

  /** `maxScale` bounds the resolution from the start (a Prometheus native histogram's schema); 20 by default. */
  constructor(maxBuckets: number, exactLimit = DEFAULT_EXACT_LIMIT, maxScale = MAX_SCALE) {
    this.maxBuckets = maxBuckets;
    this.exactLimit = exactLimit;
    this.#histogram = newHistogram(maxBuckets, maxScale);
  }

  /** Folds the first `n` of `values` (a series' exact values at the moment it passes its limit). */
  static of(values: ArrayLike<number>, n: number, maxBuckets: number, exactLimit: number): FoldedTimer {
    const f = new FoldedTimer(maxBuckets, exactLimit);
    for (let i = 0; i < n; i++) f.add(values[i]!);
    return f;
  }

  add(v: number): void {
    this.count++;
    this.sum += v;
    this.sumSquares += v * v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (v === Infinity) this.#posInf++;
    else if (v === -Infinity) this.#negInf++;
    else {
      this.#pending[this.#pendingCount++] = v;
      if (this.#pendingCount === PENDING) this.#drain();
    }
  }

  /** Adds `v` as `weight` values at once (a whole number). */
  addWeighted(v: number, weight: number): void {
    if (weight === 1) return this.add(v);
    this.count += weight;
    this.sum += v * weight;
    this.sumSquares += v * v * weight;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (v === Infinity) this.#posInf += weight;
    else if (v === -Infinity) this.#negInf += weight;
    else this.#hist.updateByIncrement(v, weight);
  }

  /** Records the pending values into the histogram. */
  #drain(): void {
    const h = this.#histogram;
    const p = this.#pending;
    for (let i = 0; i < this.#pendingCount; i++) h.record(p[i]!);
    this.#pendingCount = 0;
  }

  /** The histogram with every value recorded. */
  get #hist(): Accumulation {
    if (this.#pendingCount > 0) this.#drain();
    return this.#histogram;
  }

  /** Adds every value `other` holds (bucket-wise; exact parts added). */
  merge(other: FoldedTimer): void {
    this.count += other.count;
    this.sum += other.sum;
    this.sumSquares += other.sumSquares;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    this.#posInf += other.#posInf;
    this.#negInf += other.#negInf;
    this.#hist.merge(other.#hist);
  }

  /** The interval as `TimerHistogramV2` (the forwarder's extension of gostatsd's `/v2/raw`). */
  toWire(): TimerHistogramWire {
    const h = this.#hist;
    const counts = (b: typeof h.positive): number[] => Array.from({ length: b.length }, (_, i) => b.at(i));
    return {
      Scale: h.scale,
      ZeroCount: h.zeroCount,
      PositiveOffset: h.positive.offset,
      PositiveCounts: counts(h.positive),
      NegativeOffset: h.negative.offset,
      NegativeCounts: counts(h.negative),
      Count: this.count,
      Sum: this.sum,
      SumSquares: this.sumSquares,
      Min: this.min,
      Max: this.max,
      PositiveInfinities: this.#posInf,
      NegativeInfinities: this.#negInf,
      MaxBuckets: this.maxBuckets,
      ExactLimit: this.exactLimit,
    };
  }

  /**
   * A folded interval received from a forwarder, or undefined when it is not one (the parts
   * must agree: whole non-negative counts adding up to `Count`, at most {@link MAX_BUCKETS}
   * buckets per sign, bucket bounds that are finite positive doubles). It keeps the sender's
   * bucket limit and exact-value limit (within `timer-max-buckets`' bounds). Each bucket's
   * count is recorded at its representative value, so the buckets come back at the
   * sender's scale or finer.
   */
  static fromWire(w: TimerHistogramWire): FoldedTimer | undefined {
    if (w.PositiveCounts.length > MAX_BUCKETS || w.NegativeCounts.length > MAX_BUCKETS) return undefined;
    if (!Number.isInteger(w.Scale) || w.Scale < -10 || w.Scale > 20) return undefined;
    const whole = (n: number): boolean => Number.isInteger(n) && n >= 0;
    const parts = [...w.PositiveCounts, ...w.NegativeCounts, w.ZeroCount, w.PositiveInfinities, w.NegativeInfinities];
    if (!parts.every(whole) || !whole(w.Count) || w.Count === 0) return undefined;
    if (parts.reduce((a, b) => a + b, 0) !== w.Count) return undefined;
    if (![w.Min, w.Max, w.Sum, w.SumSquares].every((x) => !Number.isNaN(x)) || w.Min > w.Max) return undefined;
    // Every bucket's bounds must be finite, positive doubles.
    const base0 = 2 ** (2 ** -w.Scale);
    const inRange = (offset: number, n: number): boolean =>
      n === 0 || (Number.isInteger(offset) && base0 ** offset > 0 && Number.isFinite(base0 ** (offset + n + 1)));
    if (!inRange(w.PositiveOffset, w.PositiveCounts.length) || !inRange(w.NegativeOffset, w.NegativeCounts.length))
      return undefined;
    const maxBuckets = Math.min(MAX_BUCKETS, Math.max(MIN_BUCKETS, w.MaxBuckets || DEFAULT_MAX_BUCKETS));
    const f = new FoldedTimer(maxBuckets, w.ExactLimit || DEFAULT_EXACT_LIMIT);
    const rep = representative(base0);
    w.PositiveCounts.forEach((c, i) => c > 0 && f.#hist.updateByIncrement(rep(w.PositiveOffset + i), c));
    w.NegativeCounts.forEach((c, i) => c > 0 && f.#hist.updateByIncrement(-rep(w.NegativeOffset + i), c));
    if (w.ZeroCount > 0) f.#hist.updateByIncrement(0, w.ZeroCount);
    f.count = w.Count;
    f.sum = w.Sum;
    f.sumSquares = w.SumSquares;
    f.min = w.Min;
    f.max = w.Max;
    f.#posInf = w.PositiveInfinities;
    f.#negInf = w.NegativeInfinities;
    return f;
  }

  /** The histogram's scale now (its resolution: `base = 2^(2^−scale)`). */
  get scale(): number {
    return this.#hist.scale;
  }

  /** The largest relative error of a value read at a rank, at the current scale. */
  get relativeError(): number {
    const base = 2 ** (2 ** -this.scale);
    return (base - 1) / (base + 1);
  }

  /** The buckets in value order (negative values first), each with its representative value. */
  #runs(): Run[] {
    const h = this.#hist;
    const base = 2 ** (2 ** -h.scale);
    const rep = representative(base);
    const runs: Run[] = [];
    if (this.#negInf > 0) runs.push({ value: -Infinity, count: this.#negInf });
    const neg = h.negative;
    for (let j = neg.length - 1; j >= 0; j--) {
      const c = neg.at(j);
      if (c > 0) runs.push({ value: -rep(neg.offset + j), count: c });
    }
    if (h.zeroCount > 0) runs.push({ value: 0, count: h.zeroCount });
    const pos = h.positive;
    for (let j = 0; j < pos.length; j++) {
      const c = pos.at(j);
      if (c > 0) runs.push({ value: rep(pos.offset + j), count: c });
    }
    if (this.#posInf > 0) runs.push({ value: Infinity, count: this.#posInf });
    for (const r of runs) r.value = Math.min(this.max, Math.max(this.min, r.value));
    return runs;
  }

  /**
   * `n` values at evenly spaced ranks, ascending (what a backend that wants values gets:
   * each stands for `count / n` of the interval's values).
   */
  representatives(n: number): Float64Array {
    const out = new Float64Array(Math.min(n, this.count));
    const runs = this.#runs();
    let r = 0;
    let seen = 0;
    for (let i = 0; i < out.length; i++) {
      const rank = Math.floor(((i + 0.5) * this.count) / out.length);
      while (r < runs.length - 1 && seen + runs[r]!.count <= rank) seen += runs[r++]!.count;
      out[i] = runs[r]!.value;
    }
    if (out.length > 0) {
      out[0] = this.min;
      out[out.length - 1] = this.max;
    }
    return out;
  }

  /**
   * The interval's statistics as {@link computeTimerStats} defines them: min, max, sum,
   * sum of squares, mean and the percentile counts exact; the median and the percentile
   * boundaries, sums and sums of squares from the histogram (rank by rank), within
   * {@link relativeError}; the standard deviation from the exact sums.
   */
  stats(thresholds: readonly number[], disabled: DisabledPercentiles, out: TimerStatsOut): TimerStatsOut {
    const n = this.count;
    const runs = this.#runs();
    /** The value at rank `k` (0-based); min and max at the ends, exactly. */
    const at = (k: number): number => {
      if (k <= 0) return this.min;
      if (k >= n - 1) return this.max;
      let seen = 0;
      for (const r of runs) {
        if (k < seen + r.count) return r.value;
        seen += r.count;
      }
      return this.max;
    };
    /** Sum and sum of squares of the `k` lowest (`fromTop`: highest) values. */
    const partial = (k: number, fromTop: boolean): [number, number] => {
      let left = k;
      let s = 0;
      let sq = 0;
      const order = fromTop ? [...runs].reverse() : runs;
      for (const r of order) {
        if (left <= 0) break;
        const c = Math.min(left, r.count);
        s += c * r.value;
        sq += c * r.value * r.value;
        left -= c;
      }
      return [s, sq];
    };
    const mean = this.sum / n;
    out.min = this.min;
    out.max = this.max;
    out.sum = this.sum;
    out.sumSquares = this.sumSquares;
    out.mean = mean;
    out.stdDev = Math.sqrt(Math.max(0, this.sumSquares / n - mean * mean));
    const half = n >> 1;
    out.median = n % 2 === 1 ? at(half) : (at(half - 1) + at(half)) / 2;
    const list = out.percentiles;
    let used = 0;
    for (const p of thresholds) {
      let k = Math.floor((Math.abs(p) / 100) * n + 0.5);
      if (k === 0) continue;
      if (k > n) k = n;
      const top = p <= 0;
      const [pSum, pSumSq] = k === n ? [this.sum, this.sumSquares] : partial(k, top);
      const boundary = top ? at(n - k) : at(k - 1);
      used = putThreshold(list, used, p, k, pSum, pSumSq, boundary, disabled);
    }
    list.length = used;
    return out;
  }
}
