import { InMemoryAggregator, type AggregatorConfig } from '../aggregator/in-memory-aggregator.js';
import type { ServiceCheck, StatsdEvent } from '../parser/sample.js';
import { createStatsdLineParser, parseStatsdLine } from '../parser/statsd-line-parser.js';
import type { Clock } from '../shared/clock.js';
import type { LineParser } from '../parser/line-parser.js';
import type { Logger } from '../shared/logger.js';
import type { IngestStats } from './ingest-stats.js';
import { Ingester, type GaugeDeltaRule } from './ingester.js';
import type { MetricStatsSink } from './metric-stats.js';
import type { RejectSink } from './observe.js';
import { TagProcessor, type TagProcessorConfig } from './tag-processor.js';

/** Settings of the receive side; anything left out takes the daemon's default. */
export interface PipelineConfig {
  aggregator?: Partial<AggregatorConfig>;
  tags?: Partial<TagProcessorConfig>;
  /** `bad-lines-per-minute` (default 0: rejected lines are only counted). */
  badLinesPerMinute?: number;
  /** Use the line cache (default true). */
  lineCache?: boolean;
  /** `istio-names`: keep `|` inside metric names (default false). */
  istioNames?: boolean;
  /** `gauge-deltas` (default `ignore`). */
  gaugeDeltas?: GaugeDeltaRule;
}

/** What the pipeline needs from its host. */
export interface PipelineDeps {
  stats: IngestStats;
  clock: Clock;
  logger: Logger;
  /** Receives every accepted event. */
  onEvent: (event: StatsdEvent) => void;
  /** Receives every accepted service check. */
  onServiceCheck?: (check: ServiceCheck) => void;
  /** Per-metric statistics to keep (`/debug/metrics`); absent: none. */
  metricStats?: MetricStatsSink;
  /** Where the last rejected lines are kept; absent: nowhere. */
  rejects?: RejectSink;
}

/** The receive side: the ingester (the receivers' sink) and the aggregator it feeds. */
export interface Pipeline {
  /** The line grammar the ingester applies (explain shows its verdict on a line). */
  readonly parser: LineParser;
  readonly ingester: Ingester;
  readonly aggregator: InMemoryAggregator;
}

/** The daemon's defaults for the aggregator (`percent-threshold = 90`, 5 min expiry, one shard). */
export const DEFAULT_AGGREGATOR: AggregatorConfig = {
  shards: 1,
  percentThresholds: [90],
  disabledPercentiles: { count: false, mean: false, sum: false, sumSquares: false, lower: false, upper: false },
  expiry: { counterMs: 300_000, gaugeMs: 300_000, setMs: 300_000, timerMs: 300_000 },
};

/**
 * Wires parser → tag processor → aggregator behind one ingester, the one way the daemon,
 * the tests and the benchmarks build the receive side.
 */
export function createPipeline(cfg: PipelineConfig, deps: PipelineDeps): Pipeline {
  const aggregator = new InMemoryAggregator({ ...DEFAULT_AGGREGATOR, ...cfg.aggregator });
  const parser = cfg.istioNames === true ? createStatsdLineParser({ keepPipesInNames: true }) : parseStatsdLine;
  const ingester = new Ingester({
    parser,
    tags: tagProcessorOf(cfg),
    aggregator,
    stats: deps.stats,
    clock: deps.clock,
    logger: deps.logger,
    onEvent: deps.onEvent,
    ...(deps.onServiceCheck !== undefined ? { onServiceCheck: deps.onServiceCheck } : {}),
    badLinesPerMinute: cfg.badLinesPerMinute ?? 0,
    lineCache: cfg.lineCache !== false,
    gaugeDeltas: cfg.gaugeDeltas ?? 'ignore',
    ...(deps.metricStats !== undefined ? { metricStats: deps.metricStats } : {}),
    ...(deps.rejects !== undefined ? { rejects: deps.rejects } : {}),
  });
  return { parser, ingester, aggregator };
}

function tagProcessorOf(cfg: PipelineConfig): TagProcessor {
  return new TagProcessor({ ignoreHost: false, namespace: '', defaultTags: [], filters: [], ...cfg.tags });
}

/**
 * Applies a reload's receive-side settings to a running pipeline: percentiles, expiry,
 * series cap, timer bounds, tags and filters, the bad-line log, gauge deltas. The shard
 * count and the parser stay (they need a restart).
 */
export function reconfigurePipeline(p: Pipeline, cfg: PipelineConfig): void {
  p.aggregator.reconfigure({ ...DEFAULT_AGGREGATOR, ...cfg.aggregator });
  p.ingester.reconfigure(tagProcessorOf(cfg), cfg.badLinesPerMinute ?? 0, cfg.gaugeDeltas ?? 'ignore');
}
