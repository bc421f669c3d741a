// The Prometheus backend at 100,000 series: flush (apply) time, scrape time, the longest
// single chunk (how long receiving can be held up), exposition size and heap per series.
// Usage: node --expose-gc --import tsx bench/prometheus.ts [--series 100000]
import { parseArgs } from 'node:util';
import { settledHeap } from './lib.js';
import { exposition } from '../src/backends/prometheus/exposition.js';
import { MetricMapper, parseMappingText } from '../src/backends/prometheus/mapping.js';
import { PromStore } from '../src/backends/prometheus/store.js';
import { makePipeline, send } from '../test/support/pipeline.js';

const { values } = parseArgs({ options: { series: { type: 'string', default: '100000' } } });
const n = Number(values.series);
const heap = settledHeap;
heap(); // fails at once without --expose-gc

// 60 % counters, 25 % gauges, 15 % timers (histograms), Envoy-style names mapped to labels.
const mapping = `
defaults: { observer_type: histogram }
mappings:
- match: envoy.cluster.*.*
  name: envoy_cluster_$2
  labels: { cluster: "$1" }
`;
function line(i: number, v: number): string {
  const sep = i % (n / 100);
  const j = Math.floor(i / (n / 100));
  const r = i % 20;
  if (r < 12) return `envoy.cluster.c${sep}.rq_total_${j}:1|c`;
  if (r < 17) return `envoy.cluster.c${sep}.cx_active_${j}:${v}|g`;
  return `envoy.cluster.c${sep}.rq_time_${j}:${v}|ms`;
}

const { ingester, aggregator } = makePipeline({ maxSeries: n * 2 });
const store = new PromStore(new MetricMapper(parseMappingText(mapping, 'm', [])!), n * 2, () => undefined);
const before = heap();
let t = 1_700_000_000_000;
const flushMs: number[] = [];
const sliceMs: number[] = [];
for (let round = 0; round < 3; round++) {
  for (let i = 0; i < n; i += 50) {
    const lines: string[] = [];
    for (let k = i; k < Math.min(n, i + 50); k++) lines.push(line(k, (k + round) % 1000));
    send(ingester, lines.join('\n'));
  }
  t += 10_000;
  const snap = aggregator.snapshotAndReset(t, 10);
  // The backend applies in slices (runChunked); measure the whole and the longest slice.
  const s = performance.now();
  let last = s;
  let worst = 0;
  const gen = store.applyChunked(snap);
  while (gen.next().done !== true) {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }
  worst = Math.max(worst, performance.now() - last);
  flushMs.push(performance.now() - s);
  sliceMs.push(worst);
}
const storeHeap = heap() - before;

const scrapes: Array<{ total: number; worst: number; bytes: number }> = [];
for (let k = 0; k < 3; k++) {
  let worst = 0;
  let bytes = 0;
  const start = performance.now();
  let last = start;
  for (const chunk of exposition(store, 'text', t)) {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    bytes += Buffer.byteLength(chunk);
    last = performance.now();
  }
  scrapes.push({ total: performance.now() - start, worst, bytes });
}
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`series: ${store.seriesCount} (statsd series ${n})`);
console.log(
  `apply one interval (ms), per round: ${flushMs.map((x) => x.toFixed(1)).join(' / ')}; longest slice ${sliceMs.map((x) => x.toFixed(1)).join(' / ')}`,
);
console.log(
  `scrape (text): total ${med(scrapes.map((s) => s.total)).toFixed(1)} ms, longest chunk ${med(scrapes.map((s) => s.worst)).toFixed(1)} ms, ${(scrapes[0]!.bytes / 1048576).toFixed(1)} MB`,
);
console.log(
  `heap of aggregator + store: ${(storeHeap / 1048576).toFixed(1)} MB (${Math.round(storeHeap / n)} B/series)`,
);
