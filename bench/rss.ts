// Memory at a fixed load: where the resident set of a daemon holding many live series goes.
//
//   npm run bench:rss -- [--series 100000] [--lines-per-datagram 1] [--rate 100000]
//                        [--duration 10] [--flush-interval 1] [--max-series N]
//                        [--series-per-sep 100]
//                        [--backends "sepagent stdout"]  (ours; stdout goes to /dev/null)
//                        [--flush-thread]  (UDP on an ingest thread, the flush on the main thread)
//
// Starts the built daemon (sepagent backend to a counting sink, the shipped V8 flags unless
// BENCH_NODE_FLAGS overrides them), creates every series, then sends Envoy-shaped traffic at
// a fixed rate and samples RSS, its anonymous and file-backed parts, and the V8 heap every
// 250 ms. Prints peak RSS (VmHWM), the split and the heap at the RSS peak, and the loss,
// which must be 0 for the figures to mean anything. The Go reference's figures are history
// in docs/performance.md. The daemon gets SIGTERM at the end, so node flags such as
// `--cpu-prof` write their files. See docs/performance.md.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  compileTools,
  daemonEnv,
  freePort,
  freeTcpPort,
  NODE_FLAGS,
  OUT,
  oursConfig,
  peakRssMb,
  ROOT,
  residentSplit,
  rssMb,
  send,
  Sink,
  sleep,
  threadTimes,
  udpDrops,
  waitReady,
  withSysctls,
} from './lib.js';

const { values: opt } = parseArgs({
  options: {
    series: { type: 'string', default: '100000' },
    'lines-per-datagram': { type: 'string', default: '1' },
    rate: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    'flush-interval': { type: 'string', default: '1' },
    'max-series': { type: 'string', default: '' },
    'series-per-sep': { type: 'string', default: '100' },
    // Ours only: the backends line, e.g. "sepagent stdout" (stdout goes to /dev/null).
    backends: { type: 'string', default: 'sepagent' },
    // flush-thread = true: the daemon gets both cores (one thread receives, the other flushes).
    'flush-thread': { type: 'boolean', default: false },
  },
});
const SERIES = Number(opt.series);
const LPD = Number(opt['lines-per-datagram']);
const RATE = Number(opt.rate);
const DURATION = Number(opt.duration);
const FLUSH_S = Number(opt['flush-interval']);
const PER_SEP = ['--series-per-sep', String(Number(opt['series-per-sep']))];
const RCVBUF = 8 * 1024 * 1024;

interface Sample {
  s: number;
  rssMb: number;
  anonMb: number;
  fileMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

const metric = (text: string, name: string): number =>
  Number(new RegExp(`^statsd_sepagent_${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1048576;

async function main(): Promise<void> {
  compileTools();
  const sink = new Sink();
  await sink.ready;
  const port = await freePort();
  const web = await freeTcpPort();
  const cfg = join(OUT, 'rss.toml');
  const extra =
    (opt['max-series'] === '' ? '' : `max-series = ${Number(opt['max-series'])}\n`) +
    (opt['flush-thread'] ? 'flush-thread = true\n' : '');
  writeFileSync(
    cfg,
    oursConfig({ port, web, sinkPort: sink.port, flushS: FLUSH_S, rcvbuf: RCVBUF, extra, backends: opt.backends }),
  );
  let stderr = '';
  const daemon = spawn(
    'taskset',
    [
      '-c',
      opt['flush-thread'] ? '0,1' : '1',
      process.execPath,
      ...NODE_FLAGS,
      join(ROOT, 'dist', 'main.js'),
      '--config-path',
      cfg,
    ],
    { env: daemonEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  daemon.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-10_000)));
  const pid = daemon.pid!;
  const scrape = async (): Promise<string> => await (await fetch(`http://127.0.0.1:${web}/metrics`)).text();
  try {
    await waitReady(web, () => stderr);
    const idle = rssMb(pid);
    const warmRate = Math.min(RATE, 200_000);
    await send(
      port,
      { linesPerDatagram: LPD, series: SERIES, rate: warmRate, duration: Math.max(1, (SERIES * 1.2) / warmRate) },
      PER_SEP,
    );
    // The warm-up's last flush must not land in the measured window (it would hide a loss).
    await sink.settled(FLUSH_S * 1000 + 500);
    const warm = rssMb(pid);
    const before = sink.total;
    const drops0 = udpDrops(port);
    const samples: Sample[] = [];
    const t0 = Date.now();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await scrape();
        const { anon, file } = residentSplit(pid);
        samples.push({
          s: (Date.now() - t0) / 1000,
          rssMb: rssMb(pid),
          anonMb: anon,
          fileMb: file,
          heapUsedMb: metric(text, 'nodejs_heap_size_used_bytes'),
          heapTotalMb: metric(text, 'nodejs_heap_size_total_bytes'),
          externalMb: metric(text, 'nodejs_external_memory_bytes'),
        });
        await sleep(250);
      }
    })();
    const threads0 = threadTimes(pid);
    const sent = await send(port, { linesPerDatagram: LPD, series: SERIES, rate: RATE, duration: DURATION }, PER_SEP);
    // Each thread kind's share of a core on a CPU and waiting for one while the load was sent.
    const threads = [...threadTimes(pid)]
      .map(([name, t]) => {
        const t0 = threads0.get(name) ?? { run: 0, wait: 0 };
        return { name, run: (t.run - t0.run) / sent.elapsed, wait: (t.wait - t0.wait) / sent.elapsed };
      })
      .filter((t) => t.run >= 0.01);
    await sleep(FLUSH_S * 2000 + 1000);
    await sink.settled(300);
    sampling = false;
    await sampler;
    // Flushes on time: their mean duration and every interval not delivered on its own.
    const final = await scrape();
    const num = (re: RegExp) => [...final.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
    const flushes = num(/^statsd_sepagent_flush_duration_seconds_count (\S+)/gm);
    const flushMeanMs = (num(/^statsd_sepagent_flush_duration_seconds_sum (\S+)/gm) / flushes) * 1000;
    const late = num(/^statsd_sepagent_backend_flushes_total\{[^}]*result="(?:skipped|merged|timeout)"[^}]*\} (\S+)/gm);
    const slowest = [...final.matchAll(/^statsd_sepagent_flush_duration_seconds_bucket\{le="([^"]+)"\} (\S+)/gm)].find(
      (m) => Number(m[2]) === flushes,
    )?.[1];
    const expected = sent.counters + sent.timers;
    const counted = sink.total - before;
    const top = samples.reduce((a, b) => (b.rssMb > a.rssMb ? b : a));
    const f = (n: number): string => n.toFixed(0);
    const report = {
      series: SERIES,
      linesPerDatagram: LPD,
      lineRate: Math.round(sent.lineRate),
      daemon: opt['flush-thread'] ? 'statsd-sepagent (flush-thread)' : 'statsd-sepagent',
      nodeFlags: NODE_FLAGS.join(' '),
      idleRssMb: idle,
      afterWarmUpRssMb: warm,
      peakRssMb: peakRssMb(pid),
      atRssPeak: top,
      kernelDrops: udpDrops(port) - drops0,
      flushes,
      flushMeanMs,
      slowestFlushAtMostS: slowest,
      intervalsNotFlushedOnTime: late,
      lossPct: expected === 0 ? 0 : (Math.max(0, expected - counted) / expected) * 100,
      threads,
    };
    console.log(
      `${report.daemon}: ${SERIES} series, ${LPD} line(s)/datagram at ${f(sent.lineRate / 1000)}k lines/s` +
        `, node ${report.nodeFlags}\n` +
        `  RSS: idle ${f(idle)} MB, after creating the series ${f(warm)} MB, peak ${f(report.peakRssMb)} MB\n` +
        `  at the RSS peak: ${f(top.anonMb)} MB anonymous, ${f(top.fileMb)} MB file-backed (the program's own pages)` +
        `; heap used ${f(top.heapUsedMb)} MB of ${f(top.heapTotalMb)} MB, external ${f(top.externalMb)} MB\n` +
        `  loss ${report.lossPct.toFixed(3)} %, kernel drops ${report.kernelDrops}` +
        `\n  ${flushes} flushes, mean ${flushMeanMs.toFixed(0)} ms, all within ${slowest ?? '?'} s; intervals skipped, merged or timed out: ${late}` +
        `\n  threads (share of a core running / waiting for one): ${threads.map((t) => `${t.name} ${t.run.toFixed(2)}/${t.wait.toFixed(2)}`).join(', ')}`,
    );
    writeFileSync(
      join(OUT, `rss-${new Date().toISOString().replaceAll(':', '-')}.json`),
      JSON.stringify({ report, samples }, null, 2),
    );
  } finally {
    // SIGTERM first, so that node flags such as --cpu-prof can write their files at exit.
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    daemon.kill('SIGKILL');
    sink.stop();
  }
}

await withSysctls(RCVBUF, main);
