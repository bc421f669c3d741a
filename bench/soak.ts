// Soak run: Envoy-shaped traffic with churning series and periodic ConfigMap edits against
// the built daemon, for a configurable time. Reports RSS over time, samples lost (sent
// minus delivered) and event-loop delay. See docs/reliability.md.
//
//   npm run soak -- [--minutes 10] [--rate 50000] [--series 20000] [--segment 15]
//                   [--edit-every 30] [--lines-per-datagram 1]
//
// Every segment sends a new generation of series names (the old ones expire after
// expiry-interval), and every --edit-every seconds the ConfigMap moves SepAgent between
// two counting sinks. Lost = counter and timer lines sent − counts received by both sinks.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FakeKubeApi } from '../test/support/fake-kube-api.js';
import {
  compileTools,
  daemonEnv,
  freePort,
  freeTcpPort,
  NODE_FLAGS,
  OUT,
  peakRssMb,
  ROOT,
  residentByKind,
  rssMb,
  send,
  Sink,
  sleep,
  type Sent,
  waitReady,
  withSysctls,
} from './lib.js';

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '50000' },
    series: { type: 'string', default: '20000' },
    segment: { type: 'string', default: '15' },
    'edit-every': { type: 'string', default: '30' },
    'lines-per-datagram': { type: 'string', default: '1' },
  },
});
const MINUTES = Number(opt.minutes);
const RATE = Number(opt.rate);
const SERIES = Number(opt.series);
const SEGMENT_S = Number(opt.segment);
const EDIT_S = Number(opt['edit-every']);
const LPD = Number(opt['lines-per-datagram']);
const NS = 'soak';
const CM = 'statsd-sepagent';

function config(port: number, flush: string): string {
  return [
    'backends = "sepagent"',
    `flush-interval = "${flush}"`,
    'expiry-interval = "20s"',
    '[sepagent]',
    'host = "127.0.0.1"',
    `port = ${port}`,
    "sep_regexp = 'sep([0-9]+)'",
    "cluster_regexp = 'external_cluster_sep([0-9]+)'",
    '',
  ].join('\n');
}

async function metric(web: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${web}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

async function main(): Promise<void> {
  compileTools();
  const api = await FakeKubeApi.start({ namespaces: [NS] });
  const sinks = [new Sink(), new Sink()];
  await Promise.all(sinks.map((s) => s.ready));
  let target = 0;
  api.upsert(NS, CM, { 'config.toml': config(sinks[0]!.port, '1s') });
  const udp = await freePort();
  const web = await freeTcpPort();
  const eldFile = join(OUT, 'eld-soak.jsonl');
  rmSync(eldFile, { force: true });
  const daemon = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      '-r',
      join(ROOT, 'bench', 'eld-probe.cjs'),
      join(ROOT, 'dist', 'main.js'),
      '--configmap',
      CM,
      '--configmap-namespace',
      NS,
      '--kubeconfig',
      api.writeKubeconfig(),
      '--metrics-addr',
      `127.0.0.1:${udp}`,
      '--web-addr',
      `127.0.0.1:${web}`,
    ],
    {
      env: daemonEnv({ ELD_OUT: eldFile, ELD_WINDOW_MS: '1000' }),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  daemon.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
  await waitReady(web, () => stderr);

  const t0 = Date.now();
  const endAt = t0 + MINUTES * 60_000;
  const samples: Array<{
    s: number;
    rssMb: number;
    series: number;
    heapUsedMb: number;
    heapTotalMb: number;
    externalMb: number;
    brkMb: number;
    anonMb: number;
  }> = [];
  const sampler = setInterval(() => {
    const at = Math.round((Date.now() - t0) / 1000);
    const rss = rssMb(daemon.pid!);
    const maps = residentByKind(daemon.pid!);
    void Promise.all([
      metric(web, 'statsd_sepagent_series{type="counter"}'),
      metric(web, 'statsd_sepagent_nodejs_heap_size_used_bytes'),
      metric(web, 'statsd_sepagent_nodejs_heap_size_total_bytes'),
      metric(web, 'statsd_sepagent_nodejs_external_memory_bytes'),
    ]).then(([series, used, total, external]) =>
      samples.push({
        s: at,
        rssMb: rss,
        series,
        heapUsedMb: used / 1048576,
        heapTotalMb: total / 1048576,
        externalMb: external / 1048576,
        brkMb: maps.brk,
        anonMb: maps.anon,
      }),
    );
  }, 5000);
  let edits = 0;
  const editor = setInterval(() => {
    target = 1 - target;
    edits++;
    // Alternate the destination and the flush interval: both reload live.
    api.upsert(NS, CM, { 'config.toml': config(sinks[target]!.port, edits % 4 < 2 ? '1s' : '2s') });
  }, EDIT_S * 1000);

  const total: Sent = { datagrams: 0, lines: 0, counters: 0, timers: 0, elapsed: 0, lineRate: 0 };
  let generation = 0;
  while (Date.now() < endAt) {
    const seconds = Math.min(SEGMENT_S, (endAt - Date.now()) / 1000);
    if (seconds < 1) break;
    const s = await send(udp, {
      linesPerDatagram: LPD,
      series: SERIES,
      rate: RATE,
      duration: seconds,
      generation: generation++,
    });
    total.datagrams += s.datagrams;
    total.lines += s.lines;
    total.counters += s.counters;
    total.timers += s.timers;
    total.elapsed += s.elapsed;
  }
  clearInterval(editor);
  clearInterval(sampler);
  const dropsBefore = await metric(web, 'statsd_sepagent_udp_receive_drops_total');
  await sleep(5000); // last flushes (and any reload) settle
  const peak = peakRssMb(daemon.pid!);
  daemon.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => daemon.on('exit', r));
  let last = -1;
  while (sinks[0]!.total + sinks[1]!.total !== last) {
    last = sinks[0]!.total + sinks[1]!.total;
    await sleep(500);
  }
  for (const s of sinks) s.stop();
  await api.stop();

  const delivered = sinks[0]!.total + sinks[1]!.total;
  const expected = total.counters + total.timers;
  const eld = readFileSync(eldFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { maxMs: number; p99Ms: number });
  const warm = samples.filter((x) => x.s >= 60);
  // Least-squares slope of RSS, in MB per minute: after the first minute, and over the
  // second half of the run (a plateau shows as a second-half slope near 0).
  const slopeOf = (xs: typeof samples): number => {
    const mx = xs.reduce((a, x) => a + x.s, 0) / xs.length;
    const my = xs.reduce((a, x) => a + x.rssMb, 0) / xs.length;
    return (xs.reduce((a, x) => a + (x.s - mx) * (x.rssMb - my), 0) / xs.reduce((a, x) => a + (x.s - mx) ** 2, 0)) * 60;
  };
  const slope = slopeOf(warm);
  const lateHalf = samples.filter((x) => x.s >= (MINUTES * 60) / 2);
  const lateSlope = slopeOf(lateHalf);
  const minute = (m: number): string => {
    const w = samples.filter((x) => x.s > m * 60 && x.s <= (m + 1) * 60);
    const e = eld.slice(m * 60, (m + 1) * 60);
    return (
      `| ${m + 1} | ${Math.max(...w.map((x) => x.rssMb)).toFixed(0)} | ` +
      `${Math.max(...w.map((x) => x.heapUsedMb)).toFixed(0)} / ${Math.max(...w.map((x) => x.heapTotalMb)).toFixed(0)} | ` +
      `${Math.max(...w.map((x) => x.externalMb)).toFixed(0)} | ` +
      `${Math.max(...w.map((x) => x.brkMb)).toFixed(0)} / ${Math.max(...w.map((x) => x.anonMb)).toFixed(0)} | ` +
      `${Math.max(...w.map((x) => x.series))} | ` +
      `${Math.max(...e.map((x) => x.p99Ms)).toFixed(1)} | ${Math.max(...e.map((x) => x.maxMs)).toFixed(1)} |`
    );
  };
  const report = [
    `soak: ${MINUTES} min, ${RATE} lines/s, ${SERIES} series per generation (${generation} generations), ` +
      `${LPD} line(s)/datagram, ConfigMap edited every ${EDIT_S} s (${edits} edits)`,
    '',
    '| minute | RSS MB (max) | V8 heap used / total MB (max) | external MB (max) | malloc heap / anonymous MB (max) | live counter series (max) | loop delay p99 ms (worst second) | worst loop block ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...Array.from({ length: Math.ceil(MINUTES) }, (_, m) => minute(m)),
    '',
    `lines sent: ${total.lines}; counter+timer lines sent: ${expected}; delivered to the sinks: ${delivered}; ` +
      `lost: ${expected - delivered} (${(((expected - delivered) / expected) * 100).toFixed(4)} %)`,
    `kernel drops on the daemon's socket: ${dropsBefore}`,
    `RSS after the first minute: slope ${slope.toFixed(2)} MB/min, min ${Math.min(...warm.map((x) => x.rssMb)).toFixed(0)} MB, ` +
      `max ${Math.max(...warm.map((x) => x.rssMb)).toFixed(0)} MB; peak RSS ${peak.toFixed(0)} MB`,
    `RSS over the second half: slope ${lateSlope.toFixed(2)} MB/min, min ${Math.min(...lateHalf.map((x) => x.rssMb)).toFixed(0)} MB, ` +
      `max ${Math.max(...lateHalf.map((x) => x.rssMb)).toFixed(0)} MB`,
    `exit code after SIGTERM: ${code}`,
  ].join('\n');
  console.log(report);
  const file = join(OUT, `soak-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify({ opt, total, delivered, expected, samples, eld, slope, lateSlope, peak, code }, null, 2),
  );
  console.log(`wrote ${file}`);
}

// The daemon asks for its default 8 MiB receive buffer; the kernel grants it only up to
// net.core.rmem_max, raised for the run as docs/performance.md says to in production.
withSysctls(8 * 1024 * 1024, main).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
