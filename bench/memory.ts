// Heap cost per series: where the memory of 100,000 live series goes.
// Usage: node --expose-gc --import tsx bench/memory.ts [--series 100000]
import { parseArgs } from 'node:util';
import { settledHeap } from './lib.js';
import { computeSnapshot } from '../src/aggregator/interval-cut.js';
import { runToEnd } from '../src/shared/cooperative.js';
import { makePipeline } from '../test/support/pipeline.js';

const { values } = parseArgs({
  options: { series: { type: 'string', default: '100000' }, cache: { type: 'boolean', default: true } },
});
const n = Number(values.series);
const heap = settledHeap;
heap(); // fails at once without --expose-gc
const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB (${Math.round(b / n)} B/series)`;

// 60 % counters, 25 % gauges, 15 % timers, Envoy-style names, as the benchmark sends.
function line(i: number, v: number): string {
  const sep = i % (n / 100),
    j = Math.floor(i / (n / 100));
  const r = i % 20;
  if (r < 12) return `envoy.cluster.external_cluster_sep${sep}.upstream_rq_total_${j}:1|c`;
  if (r < 17) return `envoy.cluster.external_cluster_sep${sep}.upstream_cx_active_${j}:${v}|g`;
  return `envoy.cluster.external_cluster_sep${sep}.upstream_rq_time_${j}:${v}|ms`;
}

const base = heap();
// The daemon's ingest pipeline (parser, tag processor, aggregator), without sockets.
const { ingester, aggregator } = makePipeline({ maxSeries: 0 }, {}, values.cache);
for (let i = 0; i < n; i += 20) {
  const lines: string[] = [];
  for (let k = i; k < Math.min(n, i + 20); k++) lines.push(line(k, k % 100));
  ingester.ingestDatagram(Buffer.from(lines.join('\n')), '127.0.0.1');
}
const afterIngest = heap();
console.log(`series + line cache after one sample each: ${mb(afterIngest - base)}`);
// A few more samples per series (timers keep their values until the flush).
for (let round = 0; round < 3; round++)
  for (let i = 0; i < n; i += 20) {
    const lines: string[] = [];
    for (let k = i; k < Math.min(n, i + 20); k++) lines.push(line(k, round));
    ingester.ingestDatagram(Buffer.from(lines.join('\n')), '127.0.0.1');
  }
const afterMore = heap();
console.log(`... with 4 samples each: ${mb(afterMore - base)}`);
const snap = runToEnd(computeSnapshot(aggregator.cut(Date.now()), 1, aggregator.statsConfig));
const withSnapshot = heap();
console.log(
  `... plus the flush snapshot held: ${mb(withSnapshot - base)} (${snap.counters.length + snap.gauges.length + snap.timers.length} series)`,
);
console.log(`process RSS: ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB`);
