// Heap cost per series: where the memory of 100,000 live series goes, for the benchmark's
// mix and for each kind on its own (counter, gauge, timer with 10 values, set with 10
// members), counting V8's heap and the typed arrays' memory outside it.
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

/** Heap plus the memory of ArrayBuffers (typed arrays live outside V8's heap), settled. */
function settledTotal(): number {
  settledHeap();
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
}

/** Bytes per series of one kind: `n` series, each given `samples` samples in one interval. */
function perKind(kind: 'counter' | 'gauge' | 'timer' | 'set', samples: number): { live: number; held: number } {
  const base = settledTotal();
  const p = makePipeline({ maxSeries: 0 }, {}, values.cache);
  const lineOf = (i: number, k: number): string => {
    const name = `envoy.cluster.external_cluster_sep${i % (n / 100)}.${kind}_${Math.floor(i / (n / 100))}`;
    if (kind === 'counter') return `${name}:1|c`;
    if (kind === 'gauge') return `${name}:${k}|g`;
    if (kind === 'timer') return `${name}:${(i + k * 7) % 1000}|ms`;
    return `${name}:member${k}|s`;
  };
  for (let k = 0; k < samples; k++)
    for (let i = 0; i < n; i += 20) {
      const lines: string[] = [];
      for (let j = i; j < Math.min(n, i + 20); j++) lines.push(lineOf(j, k));
      p.ingester.ingestDatagram(Buffer.from(lines.join('\n')), '127.0.0.1');
    }
  const live = settledTotal() - base;
  const snap = runToEnd(computeSnapshot(p.aggregator.cut(Date.now()), 1, p.aggregator.statsConfig));
  const held = settledTotal() - base;
  if (snap.counters.length + snap.gauges.length + snap.timers.length + snap.sets.length !== n)
    throw new Error(`expected ${n} ${kind} series`);
  return { live: live / n, held: held / n };
}

console.log(`\nper kind, ${n} series each (V8 heap + ArrayBuffers, after a full GC):`);
console.log('| kind | bytes per series, live | with the flush snapshot held |');
console.log('| --- | --- | --- |');
for (const [kind, samples, label] of [
  ['counter', 1, 'counter'],
  ['gauge', 1, 'gauge'],
  ['timer', 10, 'timer, 10 values'],
  ['set', 10, 'set, 10 members'],
] as const) {
  const r = perKind(kind, samples);
  console.log(`| ${label} | ${Math.round(r.live)} | ${Math.round(r.held)} |`);
}
