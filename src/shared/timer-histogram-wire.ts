/**
 * `TimerHistogramV2` (proto/gostatsd.proto): a timer interval folded into a base-2
 * exponential histogram, as the forwarder sends it and the aggregator reads it. Bucket i of
 * a sign counts the values of magnitude in (base^i, base^(i+1)], base = 2^(2^−Scale).
 */
export interface TimerHistogramWire {
  Scale: number;
  ZeroCount: number;
  PositiveOffset: number;
  PositiveCounts: number[];
  NegativeOffset: number;
  NegativeCounts: number[];
  /** Values folded in (all of them: buckets, zeros and infinities). */
  Count: number;
  Sum: number;
  SumSquares: number;
  Min: number;
  Max: number;
  PositiveInfinities: number;
  NegativeInfinities: number;
  /** The sender's timer-max-buckets. */
  MaxBuckets: number;
  /** The sender's timer-exact-values: how many representatives it sends as Values. */
  ExactLimit: number;
}
