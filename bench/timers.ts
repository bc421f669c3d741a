// Timer memory and ingest rate with and without timer-exact-values: one series fed
// 1,000,000 values in an interval, and 1,000 series fed 10,000 each, through the daemon's
// ingest pipeline (no sockets). Prints heap bytes per timer series before the flush and
// timer lines per second (medians of 3) for each limit.
// Usage: node --expose-gc --import tsx bench/timers.ts [--limits 0,100,1000,10000]
import { parseArgs } from 'node:util';
import { settledHeap } from './lib.js';
import { makePipeline } from '../test/support/pipeline.js';

const { values: opt } = parseArgs({ options: { limits: { type: 'string', default: '0,100,1000,10000' } } });
const LIMITS = opt.limits.split(',').map(Number);
settledHeap(); // fails at once without --expose-gc

/** Datagrams of 20 timer lines: `series` series, `perSeries` values each, a long-tailed latency. */
function datagrams(series: number, perSeries: number): Buffer[] {
  const out: Buffer[] = [];
  const total = series * perSeries;
  // A few thousand distinct datagrams, sent again and again (as the load generator does).
  const distinct = Math.min(total / 20, 5000);
  for (let d = 0; d < distinct; d++) {
    const lines: string[] = [];
    for (let k = 0; k < 20; k++) {
      const i = d * 20 + k;
      const v = 2 + ((i * 7919) % 997) ** 1.6 / 50;
      lines.push(
        `envoy.cluster.external_cluster_sep${(i % series) % 50}.upstream_rq_time_${i % series}:${v.toFixed(3)}|ms`,
      );
    }
    out.push(Buffer.from(lines.join('\n')));
  }
  return out;
}

function run(limit: number, series: number, perSeries: number): { bytesPerSeries: number; linesPerSecond: number } {
  const grams = datagrams(series, perSeries);
  const rounds = Math.ceil((series * perSeries) / (grams.length * 20));
  const before = settledHeap();
  const p = makePipeline({ timerExactValues: limit, maxSeries: 0 });
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const g of grams) p.ingester.ingestDatagram(g, '127.0.0.1');
  const ns = Number(process.hrtime.bigint() - t0);
  const held = settledHeap() - before;
  const snap = p.aggregator.snapshotAndReset(p.clock.now(), 10);
  if (snap.timers.length !== series) throw new Error(`expected ${series} timer series, got ${snap.timers.length}`);
  return { bytesPerSeries: held / series, linesPerSecond: (rounds * grams.length * 20) / (ns / 1e9) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`node ${process.version}`);
for (const [series, perSeries] of [
  [1, 1_000_000],
  [1000, 10_000],
] as const) {
  // A warm-up of each, then three rounds alternating the limits: each median is of runs
  // spread over the same stretch of time.
  for (const limit of LIMITS) run(limit, series, perSeries);
  const byLimit = new Map(LIMITS.map((l) => [l, [] as Array<ReturnType<typeof run>>]));
  for (let round = 0; round < 3; round++)
    for (const limit of LIMITS) byLimit.get(limit)!.push(run(limit, series, perSeries));
  for (const limit of LIMITS) {
    const runs = byLimit.get(limit)!;
    console.log(
      `${series} series × ${perSeries} values, timer-exact-values ${limit === 0 ? '0 (all)' : limit}: ` +
        `${Math.round(median(runs.map((r) => r.bytesPerSeries))).toLocaleString('en-US')} B per series, ` +
        `${(median(runs.map((r) => r.linesPerSecond)) / 1e6).toFixed(2)} M timer lines/s (medians of 3)`,
    );
  }
}
