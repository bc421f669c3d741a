// Parse + aggregate micro-benchmark: lines/s through the ingest path without sockets.
// Usage: npm run bench:micro [-- --lines 2000000 --series 1000]
import { parseArgs } from 'node:util';
import { IngestStats } from '../src/ingest/ingest-stats.js';
import { createPipeline } from '../src/ingest/pipeline.js';
import { MetricStats } from '../src/ingest/metric-stats.js';
import { RecentRejects } from '../src/ingest/observe.js';
import { systemClock } from '../src/shared/clock.js';
import { silentLogger } from '../src/shared/logger.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '2000000' },
    series: { type: 'string', default: '1000' },
  },
});
const totalLines = Number(values.lines);
const seriesCount = Number(values.series);

function envoyLine(i: number): string {
  const s = i % seriesCount;
  const sep = s % 50;
  const stat = Math.floor(s / 50);
  switch (s % 3) {
    case 0:
      return `envoy.cluster.external_cluster_sep${sep}.upstream_rq_${stat}:1|c`;
    case 1:
      return `envoy.cluster.external_cluster_sep${sep}.upstream_cx_active_${stat}:${i % 100}|g`;
    default:
      return `envoy.cluster.external_cluster_sep${sep}.upstream_rq_time_${stat}:${i % 500}|ms`;
  }
}

function run(linesPerDatagram: number): void {
  // As the daemon builds it: per-metric statistics and the ring of rejected lines on, no tap open.
  const { aggregator, ingester } = createPipeline(
    {},
    {
      stats: new IngestStats(),
      clock: systemClock,
      logger: silentLogger,
      onEvent: () => undefined,
      metricStats: new MetricStats(Date.now()),
      rejects: new RecentRejects(),
    },
  );
  const datagrams: Buffer[] = [];
  for (let i = 0; i < Math.max(20_000, seriesCount); i += linesPerDatagram) {
    const lines: string[] = [];
    for (let j = 0; j < linesPerDatagram; j++) lines.push(envoyLine(i + j));
    datagrams.push(Buffer.from(lines.join('\n')));
  }
  const rounds = Math.ceil(totalLines / (datagrams.length * linesPerDatagram));
  // warm-up
  for (const d of datagrams) ingester.ingestDatagram(d, '127.0.0.1');
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const d of datagrams) ingester.ingestDatagram(d, '127.0.0.1');
  const ingestNs = Number(process.hrtime.bigint() - t0);
  const f0 = process.hrtime.bigint();
  const snap = aggregator.snapshotAndReset(Date.now(), 1);
  const flushNs = Number(process.hrtime.bigint() - f0);
  const lines = rounds * datagrams.length * linesPerDatagram;
  const series = snap.counters.length + snap.gauges.length + snap.timers.length;
  console.log(
    `${String(linesPerDatagram).padStart(2)} lines/datagram, ${series} series: ` +
      `${(((lines / ingestNs) * 1e9) / 1e6).toFixed(2)} M lines/s, ` +
      `${(((lines / linesPerDatagram / ingestNs) * 1e9) / 1e3).toFixed(0)} k datagrams/s, ` +
      `snapshot ${(flushNs / 1e6).toFixed(1)} ms`,
  );
}

console.log(`node ${process.version}, ${totalLines} lines per case`);
run(1);
run(20);
