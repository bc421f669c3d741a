import type { AggregatorConfig, InMemoryAggregator } from '../../src/aggregator/in-memory-aggregator.js';
import type { FlushSnapshot } from '../../src/aggregator/snapshot.js';
import { IngestStats } from '../../src/ingest/ingest-stats.js';
import type { Ingester } from '../../src/ingest/ingester.js';
import { createPipeline } from '../../src/ingest/pipeline.js';
import type { TagProcessorConfig } from '../../src/ingest/tag-processor.js';
import type { StatsdEvent } from '../../src/parser/sample.js';
import { silentLogger } from '../../src/shared/logger.js';
import { ManualClock } from './manual-clock.js';

/** The daemon's pipeline (parser, tag processor, aggregator) without sockets, on a manual clock. */
export function makePipeline(
  agg: Partial<AggregatorConfig> = {},
  tags: Partial<TagProcessorConfig> = {},
  lineCache = true,
): {
  ingester: Ingester;
  aggregator: InMemoryAggregator;
  stats: IngestStats;
  clock: ManualClock;
  events: StatsdEvent[];
} {
  const clock = new ManualClock();
  const stats = new IngestStats();
  const events: StatsdEvent[] = [];
  const { ingester, aggregator } = createPipeline(
    { aggregator: agg, tags, lineCache },
    { stats, clock, logger: silentLogger, onEvent: (e) => events.push(e) },
  );
  return { ingester, aggregator, stats, clock, events };
}

/** Sends text as one datagram from `from`. */
export function send(ingester: Ingester, text: string, from = '10.0.0.5'): void {
  ingester.ingestDatagram(Buffer.from(text, 'utf8'), from);
}

/**
 * Every field a backend can read from a snapshot, as plain data: snapshots compare by
 * what they say, not by how entries are stored (entries may keep numbers elsewhere).
 */
export function plainSnapshot(s: FlushSnapshot): unknown {
  return {
    timestampMs: s.timestampMs,
    intervalSeconds: s.intervalSeconds,
    stats: s.stats,
    counters: s.counters.map((c) => [c.name, c.tags, c.host, c.tagsKey, c.value, c.perSecond]),
    gauges: s.gauges.map((g) => [g.name, g.tags, g.host, g.tagsKey, g.value]),
    timers: s.timers.map((t) => [
      t.name,
      t.tags,
      t.host,
      t.tagsKey,
      t.min,
      t.max,
      t.count,
      t.perSecond,
      t.mean,
      t.median,
      t.stdDev,
      t.sum,
      t.sumSquares,
      t.sampledCount,
      t.percentiles.map((p) => [p.stat, p.threshold, p.value]),
      [...t.values],
    ]),
    sets: s.sets.map((x) => [x.name, x.tags, x.host, x.tagsKey, x.size, [...x.members].sort()]),
  };
}
