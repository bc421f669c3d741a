// Flush cost of the push backends at 100,000 series: wall time and the daemon process's
// CPU per flush, each backend writing to a local sink that discards (a child process, so
// its work is not counted). Usage: npm run bench:backends [-- --series 100000 --rounds 5 --only sepagent,graphite]
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Backend, BackendFactory } from '../src/backends/backend.js';
import { BACKEND_FACTORIES } from '../src/backends/registry.js';
import { systemClock } from '../src/shared/clock.js';
import { silentLogger } from '../src/shared/logger.js';
import { makePipeline, send } from '../test/support/pipeline.js';

const { values } = parseArgs({
  options: {
    series: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string', default: '' },
  },
});
const n = Number(values.series);
const rounds = Number(values.rounds);

// The sinks: TCP (graphite, statsdaemon over TCP), UDP (statsdaemon), HTTP 2xx (forwarder, remote write).
const sink = spawn(
  process.execPath,
  [
    '-e',
    `const net=require('net'),dgram=require('dgram'),http=require('http');
     const t=net.createServer(s=>s.resume()).listen(0,'127.0.0.1',()=>{
     const u=dgram.createSocket('udp4').bind(0,'127.0.0.1',()=>{
     const h=http.createServer((q,r)=>{q.resume();q.on('end',()=>r.writeHead(204).end())}).listen(0,'127.0.0.1',()=>{
     console.log(JSON.stringify({tcp:t.address().port,udp:u.address().port,http:h.address().port}))})});u.on('message',()=>{})});`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const ports = await new Promise<{ tcp: number; udp: number; http: number }>((resolve) =>
  sink.stdout.once('data', (d: Buffer) =>
    resolve(JSON.parse(d.toString()) as { tcp: number; udp: number; http: number }),
  ),
);

const sections: Array<[string, string, Record<string, unknown>]> = [
  [
    'sepagent',
    'sepagent',
    { host: '127.0.0.1', port: ports.udp, sep_regexp: 'sep([0-9]+)', cluster_regexp: 'external_cluster_sep([0-9]+)' },
  ],
  ['graphite', 'graphite', { address: `127.0.0.1:${ports.tcp}` }],
  ['statsdaemon', 'statsdaemon (UDP)', { address: `127.0.0.1:${ports.udp}` }],
  ['statsdaemon', 'statsdaemon (TCP)', { address: `127.0.0.1:${ports.tcp}`, tcp_transport: true }],
  ['prometheus-remote-write', 'prometheus-remote-write', { url: `http://127.0.0.1:${ports.http}/api/v1/write` }],
  ['forwarder', 'forwarder', { 'api-endpoint': `http://127.0.0.1:${ports.http}` }],
  ['otlp', 'otlp (protobuf, gzip)', { endpoint: `http://127.0.0.1:${ports.http}` }],
  ['otlp', 'otlp (JSON, gzip)', { endpoint: `http://127.0.0.1:${ports.http}`, encoding: 'json' }],
  ['stdout', 'stdout (to /dev/null)', {}],
  // No web server here: the store update of each flush only (a scrape is not timed).
  ['prometheus', 'prometheus (store update)', {}],
];
const devNull = createWriteStream('/dev/null');

/** 60 % counters, 25 % gauges, 15 % timers (3 values each), Envoy-style names. */
function interval(p: ReturnType<typeof makePipeline>, round: number): void {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const sep = i % 1000;
    const r = i % 20;
    const base = `envoy.cluster.external_cluster_sep${sep}`;
    if (r < 12) lines.push(`${base}.upstream_rq_total_${i}:1|c`);
    else if (r < 17) lines.push(`${base}.upstream_cx_active_${i}:${(i + round) % 50}|g`);
    else
      lines.push(
        `${base}.upstream_rq_time_${i}:${i % 300}|ms`,
        `${base}.upstream_rq_time_${i}:${(i * 7) % 300}|ms`,
        `${base}.upstream_rq_time_${i}:5|ms`,
      );
    if (lines.length >= 50) {
      send(p.ingester, lines.join('\n'));
      lines.length = 0;
    }
  }
  if (lines.length > 0) send(p.ingester, lines.join('\n'));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `${n} series (60 % counters, 25 % gauges, 15 % timers of 3 values), median of ${rounds} flushes after one warm-up`,
);
console.log('backend | flush wall ms | flush CPU ms | items sent per flush');
const only = values.only === '' ? undefined : new Set(values.only.split(','));
for (const [type, label, section] of sections.filter(([t]) => only === undefined || only.has(t))) {
  const f = BACKEND_FACTORIES.get(type) as BackendFactory<unknown>;
  const issues: never[] = [];
  let items = 0;
  const backend: Backend = f.create(
    f.validate(section, type, issues),
    {
      disabledSubMetrics: {} as never,
      maxSeries: 2 * n,
      envoyTagExtraction: 'off',
      expiry: { counterMs: 0, gaugeMs: 0, setMs: 0, timerMs: 0 },
    },
    {
      name: type,
      logger: silentLogger,
      clock: systemClock,
      metrics: { sendError: () => undefined, dropped: () => undefined, sent: (_d, i) => (items += i) },
      stdout: devNull,
    },
  );
  await backend.start();
  const p = makePipeline({ maxSeries: 2 * n, percentThresholds: [90] });
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    interval(p, round);
    p.clock.advance(1000);
    const snapshot = p.aggregator.snapshotAndReset(Date.now(), 1);
    items = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await backend.flush(snapshot, AbortSignal.timeout(60_000));
    // The HTTP backends send after flush returns: wait until their requests are done.
    const busy = backend as unknown as { busy?: boolean };
    while (busy.busy === true) await new Promise((r) => setImmediate(r));
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    if (round > 0) {
      wall.push(t1 - t0);
      cpu.push((c1.user + c1.system) / 1000);
    }
  }
  console.log([label, median(wall).toFixed(0), median(cpu).toFixed(0), items].join(' | '));
  await backend.shutdown(AbortSignal.timeout(5000));
}
sink.kill();
