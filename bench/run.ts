// The side-by-side benchmark: statsd-sepagent against the Go reference it re-implements
// (gostatsd with its SepAgent backend, at max-workers 1 and at its default of 2) and Etsy's
// statsd, on the same matrix, the same machine, with an Envoy-shaped C load generator, in
// one run.
//
//   npm run bench -- [--duration 5] [--repeats 3] [--flush-interval 1] [--quick]
//                    [--points 1x1000,1x100000,20x1000,20x100000] [--warmup 1]
//                    [--daemons ours,etsy (also ours-w2, ours-stdout, ours-prom,
//                               ours-3, ours-ft, ours-ft-stdout, ours-ft-prom, ours-ft-3)] [--cpu-rate 100000] [--no-burst] [--fixed-only]
//
// For every point it searches the highest sustained line rate with < 0.1 % loss, loss
// counted end to end: counter and timer lines sent versus the counts the daemon flushed
// to a counting UDP sink. It also measures each daemon's CPU per million lines at the
// fixed `--cpu-rate`. It writes bench/out/results-*.json and a throughput plot (SVG) next
// to it. The Go reference's figures (go1, go) are history in docs/performance.md. See
// docs/performance.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  compileTools,
  cpuTicks,
  threadTimes,
  daemonEnv,
  freePort,
  freeTcpPort,
  loadgen,
  NODE_FLAGS,
  OUT,
  oursConfig,
  peakRssMb,
  ROOT,
  Sink,
  sleep,
  udpDrops,
  withSysctls,
} from './lib.js';
import { DAEMON_LABELS, median, throughputSvg, type BenchResults, type DaemonName, type Trial } from './plot.js';
const NODE = process.execPath;
/** Etsy's statsd runs on the system Node when there is one (v20 here), as its users run it; PEER_NODE overrides. */
const PEER_NODE =
  process.env.PEER_NODE ??
  (process.env.PATH ?? '')
    .split(':')
    .filter((d) => d !== '' && !d.includes('node_modules'))
    .map((d) => join(d, 'node'))
    .find((p) => existsSync(p)) ??
  NODE;
const LOSS_LIMIT = 0.001;
/**
 * 50 series per SEP keeps every SEP's document under 65,507 bytes, so the Go reference
 * (which neither splits documents nor survives EMSGSIZE; docs/compatibility.md, row 15)
 * delivers all of them; at 100 it loses whole SEPs and its loss says nothing of its speed.
 */
const SERIES_PER_SEP = 50;
const RCVBUF = 8 * 1024 * 1024;

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    repeats: { type: 'string', default: '3' },
    'flush-interval': { type: 'string', default: '1' },
    points: { type: 'string', default: '1x1000,1x100000,20x1000,20x100000' },
    daemons: { type: 'string', default: 'ours,etsy' },
    'cpu-rate': { type: 'string', default: '100000' },
    quick: { type: 'boolean', default: false },
    'no-burst': { type: 'boolean', default: false },
    /** Only the fixed-rate trials (CPU per million lines), no search for the highest rate. */
    'fixed-only': { type: 'boolean', default: false },
    'peer-backend': { type: 'string', default: 'sepagent' },
    /** Seconds of traffic before each trial (at least enough to create every series once). */
    warmup: { type: 'string', default: '1' },
  },
});
const WARMUP_S = Number(opt.warmup);
const DURATION = opt.quick ? 3 : Number(opt.duration);
const REPEATS = opt.quick ? 1 : Number(opt.repeats);
const FLUSH_S = Number(opt['flush-interval']);
/** Lines/s of the fixed-rate trial that measures CPU per million lines (0: none). */
const CPU_RATE = Number(opt['cpu-rate']);
/** `sepagent`: Etsy's statsd renders SepAgent documents like ours; `count`: it only sums (no output work). */
const ETSY_BACKEND = opt['peer-backend'];
const DAEMONS = opt.daemons
  .split(',')
  .map((d) => (d === 'peer' ? 'etsy' : d))
  .filter((d): d is DaemonName => {
    if (d in DAEMON_LABELS) return true;
    throw new Error(`unknown daemon "${d}" (${Object.keys(DAEMON_LABELS).join(', ')})`);
  })
  .filter((d) => {
    // The Go reference's figures are history (docs/performance.md); it is not run any more.
    if (d !== 'go1' && d !== 'go') return true;
    throw new Error(
      `"${d}" was the Go reference, which is no longer run; its measured figures are in docs/performance.md`,
    );
  });
const POINTS = opt.points.split(',').map((p) => {
  const [l, s] = p.split('x');
  return { lpd: Number(l), series: Number(s) };
});

interface RunningDaemon {
  proc: ChildProcess;
  port: number;
  eldFile: string;
  flushMs: () => Promise<number>;
  stop: () => Promise<void>;
}

async function startDaemon(name: DaemonName, sinkPort: number): Promise<RunningDaemon> {
  const port = await freePort();
  const eldFile = join(OUT, `eld-${name}.jsonl`);
  rmSync(eldFile, { force: true });
  // With flush-thread the loop that must not block is the ingest thread's, not the main one's.
  const env = {
    ...process.env,
    ELD_OUT: eldFile,
    ELD_WINDOW_MS: String(FLUSH_S * 1000),
    ELD_THREAD: name.startsWith('ours-ft') ? 'ingest' : 'main',
  };
  const probe = ['-r', join(ROOT, 'bench', 'eld-probe.cjs')];
  let proc: ChildProcess;
  let flushMs: () => Promise<number>;
  if (name.startsWith('ours')) {
    const web = await freeTcpPort();
    const cfg = join(OUT, 'ours.toml');
    // The second backends: stdout goes to /dev/null (stdio 'ignore'), the exposition is not scraped.
    const backends = name.endsWith('-stdout')
      ? 'sepagent stdout'
      : name.endsWith('-prom')
        ? 'sepagent prometheus'
        : name.endsWith('-3')
          ? 'sepagent stdout prometheus'
          : 'sepagent';
    const workers = name === 'ours-w2' ? 2 : 1;
    // ours-ft*: UDP on an ingest thread of its own, the flush on the main thread.
    const flushThread = name.startsWith('ours-ft');
    const extra = flushThread ? 'flush-thread = true\n' : '';
    writeFileSync(cfg, oursConfig({ port, web, sinkPort, flushS: FLUSH_S, rcvbuf: RCVBUF, backends, workers, extra }));
    // As shipped: the entry points' V8 flags and the image's malloc settings (docs/performance.md).
    proc = spawn(
      'taskset',
      // One worker runs on core 1, the load generator on core 0; two workers get both cores
      // (sharing core 0 with the load generator: this machine has two).
      [
        '-c',
        workers > 1 || flushThread ? '0,1' : '1',
        NODE,
        ...NODE_FLAGS,
        ...probe,
        join(ROOT, 'dist', 'main.js'),
        '--config-path',
        cfg,
      ],
      {
        env: daemonEnv(env),
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${web}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 100) throw new Error('statsd-sepagent did not start');
      await sleep(100);
    }
    flushMs = async () => {
      const text = await (await fetch(`http://127.0.0.1:${web}/metrics`)).text();
      const sum = Number(/flush_duration_seconds_sum (\S+)/.exec(text)?.[1] ?? NaN);
      const count = Number(/flush_duration_seconds_count (\S+)/.exec(text)?.[1] ?? NaN);
      const dropped = [...text.matchAll(/^statsd_sepagent_backend_items_dropped_total\{[^}]*\} (\S+)/gm)].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
      if (dropped > 0)
        console.log(
          `      (statsd-sepagent reports ${dropped} items dropped: ${[...text.matchAll(/^statsd_sepagent_backend_items_dropped_total(\{[^}]*\}) (\S+)/gm)].map((m) => m[1] + '=' + m[2]).join(' ')})`,
        );
      return (sum / count) * 1000;
    };
  } else {
    const cfg = join(OUT, 'peer.json');
    const flushLog = join(OUT, 'peer-flush.log');
    rmSync(flushLog, { force: true });
    writeFileSync(
      cfg,
      JSON.stringify({
        port,
        address: '127.0.0.1',
        mgmt_port: await freeTcpPort(),
        mgmt_address: '127.0.0.1',
        flushInterval: FLUSH_S * 1000,
        backends: [
          join(ROOT, 'bench', ETSY_BACKEND === 'count' ? 'etsy-count-backend.cjs' : 'etsy-sepagent-backend.cjs'),
        ],
        benchSink: {
          host: '127.0.0.1',
          port: sinkPort,
          flushLog,
          sepRegexp: 'sep([0-9]+)',
          clusterRegexp: 'external_cluster_sep([0-9]+)',
        },
      }),
    );
    proc = spawn(
      'taskset',
      [
        '-c',
        '1',
        PEER_NODE,
        ...probe,
        '-r',
        join(ROOT, 'bench', 'util-log-shim.cjs'),
        join(ROOT, 'node_modules', 'statsd', 'stats.js'),
        cfg,
      ],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('statsd did not start')), 10_000);
      proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('server is up')) {
          clearTimeout(t);
          res();
        }
      });
    });
    flushMs = async () => {
      const ms = readFileSync(flushLog, 'utf8')
        .trim()
        .split('\n')
        .map(Number)
        .filter((n) => n > 0);
      return ms.length === 0 ? 0 : ms.reduce((a, b) => a + b, 0) / ms.length;
    };
  }
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  return {
    proc,
    port,
    eldFile,
    flushMs,
    stop: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** One measured run at `rate` lines/s on a fresh daemon and sink. */
async function trial(
  name: DaemonName,
  lpd: number,
  series: number,
  rate: number,
  extra: string[] = [],
): Promise<Trial> {
  const sink = new Sink();
  await sink.ready;
  const d = await startDaemon(name, sink.port);
  try {
    // Create every series first, as a long-running sidecar has them, then measure.
    const warmRate = rate > 0 ? Math.min(rate, 200_000) : 100_000;
    const mix = extra.includes('--mix') ? ['--mix', extra[extra.indexOf('--mix') + 1]!] : [];
    const warmArgs = [
      '--series',
      String(series),
      '--rate',
      String(warmRate),
      '--duration',
      String(Math.max(WARMUP_S, (series * 1.2) / warmRate)),
    ];
    // 16 source ports: a receiver with several SO_REUSEPORT sockets (ours-w2) gets them spread.
    const shape = ['--lines-per-datagram', String(lpd), '--series-per-sep', String(SERIES_PER_SEP), '--sockets', '16'];
    await loadgen(d.port, [...shape, ...warmArgs, ...mix]);
    // A flush of the warm-up that lands after `before` would count as the trial's and
    // could hide a loss: wait until a whole interval passes with nothing arriving.
    await sink.settled(FLUSH_S * 1000 + 500);
    const before = sink.total;
    const drops0 = udpDrops(d.port);
    const cpu0 = cpuTicks(d.proc.pid!);
    const threads0 = threadTimes(d.proc.pid!);
    rmSync(d.eldFile, { force: true });
    const sent = await loadgen(d.port, [
      ...shape,
      '--series',
      String(series),
      '--rate',
      String(rate),
      '--duration',
      String(DURATION),
      ...extra,
    ]);
    const cpu1 = cpuTicks(d.proc.pid!);
    const threads: Record<string, { run: number; wait: number }> = {};
    for (const [name, t] of threadTimes(d.proc.pid!)) {
      const t0 = threads0.get(name) ?? { run: 0, wait: 0 };
      // Per second of the trial: share of a core running, and waiting to run.
      threads[name] = { run: (t.run - t0.run) / sent.elapsed, wait: (t.wait - t0.wait) / sent.elapsed };
    }
    const sendEnd = Date.now();
    const kernelDrops = udpDrops(d.port) - drops0;
    // Wait for the flushes that carry the last samples, then for the sink to settle.
    await sleep(FLUSH_S * 2000 + 1000);
    await sink.settled(300);
    const counted = sink.total - before;
    const sinkDrops = udpDrops(sink.port);
    const expected = sent.counters + sent.timers;
    const loss = expected === 0 ? 0 : Math.max(0, (expected - counted) / expected);
    const windows = existsSync(d.eldFile)
      ? readFileSync(d.eldFile, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { t: number; maxMs: number; p99Ms: number; trialP99Ms: number })
      : [];
    // The windows of the trial: up to the one holding the flush of its last samples.
    const during = windows.filter((w) => w.t <= sendEnd + 2 * FLUSH_S * 1000);
    const eld = during.map((w) => w.maxMs);
    const eldP99 = during.map((w) => w.p99Ms);
    if (process.env.BENCH_DEBUG) console.log({ expected, counted, before, sent });
    const t: Trial = {
      target: rate,
      sent,
      counted,
      loss,
      kernelDrops,
      sinkDrops,
      cpuPct: ((cpu1 - cpu0) / 100 / sent.elapsed) * 100,
      cpuSecPerMLines: (cpu1 - cpu0) / 100 / (sent.lines / 1e6),
      peakRssMb: peakRssMb(d.proc.pid!),
      flushMs: await d.flushMs(),
      eldMaxMs: eld.length === 0 ? NaN : Math.max(...eld),
      eldP99Ms: eldP99.length === 0 ? NaN : Math.max(...eldP99),
      eldTrialP99Ms: during.at(-1)?.trialP99Ms ?? NaN,
      threads,
      pass: loss < LOSS_LIMIT,
    };
    return t;
  } finally {
    await d.stop();
    sink.stop();
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const k = (n: number) =>
  !Number.isFinite(n) ? '-' : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;

function describe(name: DaemonName, t: Trial): string {
  return (
    `    ${name} target ${k(t.target)}/s sent ${k(t.sent.lineRate)}/s loss ${(t.loss * 100).toFixed(3)}% ` +
    `drops ${t.kernelDrops} sink-drops ${t.sinkDrops} cpu ${fmt(t.cpuPct)}% (${fmt(t.cpuSecPerMLines, 2)} s/M lines) ` +
    `rss ${fmt(t.peakRssMb)}MB flush ${fmt(t.flushMs, 1)}ms eld max ${fmt(t.eldMaxMs, 1)}ms p99 ${fmt(t.eldTrialP99Ms, 1)}ms (worst second ${fmt(t.eldP99Ms, 1)}ms) ${t.pass ? 'PASS' : 'fail'}` +
    // Threads that ran: share of a core on a CPU / waiting for one, per second of the trial.
    Object.entries(t.threads ?? {})
      .filter(([, v]) => v.run >= 0.01)
      .map(([n, v]) => ` ${n} ${fmt(v.run, 2)}/${fmt(v.wait, 2)}`)
      .join('')
  );
}

/**
 * Highest sustained rate with < 0.1 % loss. From `start` (the previous repeat's result, or
 * a first guess) it steps up by 1.5× while trials pass or down by 1.5× while they fail,
 * then bisects the bracket to 5 %.
 */
async function maxRate(name: DaemonName, lpd: number, series: number, start: number): Promise<Trial | undefined> {
  let lo: Trial | undefined;
  let hiRate = Infinity;
  let rate = Math.round(start);
  for (let i = 0; i < 12; i++) {
    const t = await trial(name, lpd, series, rate);
    const achieved = t.sent.lineRate;
    console.log(describe(name, t));
    if (t.pass) {
      if (lo === undefined || achieved > lo.sent.lineRate) lo = t;
      if (achieved < rate * 0.95) break; // the generator is the limit
    } else hiRate = Math.min(hiRate, rate);
    const loRate = lo?.sent.lineRate ?? 0;
    if (hiRate !== Infinity && (hiRate - loRate) / hiRate < 0.05) break;
    if (hiRate === Infinity) rate = Math.round(rate * 1.5);
    else if (lo === undefined) rate = Math.round(rate / 1.5);
    else rate = Math.round((loRate + hiRate) / 2);
    if (rate < 1000) break;
  }
  return lo;
}

/** First guesses for the search (lines/s); later repeats start from the previous result. */
function firstGuess(name: DaemonName, lpd: number, series: number): number {
  const many = series >= 100_000;
  if (name.startsWith('ours')) return lpd > 1 ? (many ? 1_500_000 : 3_000_000) : many ? 200_000 : 600_000;
  if (name === 'etsy') return lpd > 1 ? 200_000 : many ? 40_000 : 100_000;
  return lpd > 1 ? (many ? 300_000 : 600_000) : many ? 60_000 : 250_000;
}

async function main(): Promise<void> {
  compileTools();
  const labels: Partial<Record<DaemonName, string>> = {};
  for (const d of DAEMONS) {
    if (d.startsWith('ours'))
      labels[d] = `${DAEMON_LABELS[d]} (max-workers ${d === 'ours-w2' ? 2 : 1}, node ${process.version})`;
    else if (d === 'etsy') {
      const peerNode = spawnSync(PEER_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
      const statsdVersion = (
        JSON.parse(readFileSync(join(ROOT, 'node_modules', 'statsd', 'package.json'), 'utf8')) as { version: string }
      ).version;
      labels[d] = `Etsy statsd ${statsdVersion} (node ${peerNode}, ${ETSY_BACKEND} backend)`;
    }
    console.log(`${d}: ${labels[d]}`);
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
  console.log(
    `machine: ${machine}\nduration ${DURATION}s per trial, flush interval ${FLUSH_S}s, ${REPEATS} repeat(s), loss limit ${LOSS_LIMIT * 100}%, CPU measured at ${k(CPU_RATE)} lines/s`,
  );
  const results: BenchResults['results'] = {};
  const fixedRate: BenchResults['fixedRate'] = {};
  const burst: Partial<Record<DaemonName, Trial>> = {};
  await withSysctls(RCVBUF, async () => {
    for (let r = 0; r < REPEATS; r++) {
      for (const p of POINTS) {
        const key = `${p.lpd}x${p.series}`;
        results[key] ??= {};
        fixedRate[key] ??= {};
        for (const name of DAEMONS) {
          const done = (results[key][name] ??= []);
          console.log(`repeat ${r + 1}: ${name} ${p.lpd} line(s)/datagram, ${p.series} series`);
          const start = done.at(-1)?.sent.lineRate ?? firstGuess(name, p.lpd, p.series);
          const best = opt['fixed-only'] ? undefined : await maxRate(name, p.lpd, p.series, start);
          if (best) done.push(best);
          if (CPU_RATE > 0) {
            const t = await trial(name, p.lpd, p.series, CPU_RATE);
            console.log(describe(name, t).replace('target', 'fixed rate'));
            (fixedRate[key][name] ??= []).push(t);
          }
        }
      }
    }
    if (!opt['no-burst']) {
      for (const name of DAEMONS) {
        // 20,000 one-line datagrams (counters and gauges) at once, as fast as the generator goes.
        const t = await trial(name, 1, 20_000, 0, ['--mix', '60:40:0', '--burst-interval', '5', '--bursts', '1']);
        burst[name] = t;
        console.log(
          `burst of 20,000 datagrams: ${name} lost ${t.sent.counters - t.counted} of ${t.sent.counters} counter lines`,
        );
      }
    }
  });

  const med = (ts: Trial[] | undefined, f: (t: Trial) => number) => median((ts ?? []).map(f));
  const rate = (t: Trial) => t.sent.lineRate;
  const rows: string[] = [];
  rows.push(
    `| point | ${DAEMONS.map((d) => `${d} lines/s`).join(' | ')} | ${DAEMONS.filter((d) => d !== 'ours')
      .map((d) => `ours / ${d}`)
      .join(' | ')} |`,
  );
  rows.push(`| --- |${' --- |'.repeat(DAEMONS.length * 2 - 1)}`);
  for (const [key, by] of Object.entries(results)) {
    const ours = med(by.ours, rate);
    rows.push(
      `| ${key.replace('x', ' × ')} | ${DAEMONS.map((d) => k(med(by[d], rate))).join(' | ')} | ${DAEMONS.filter(
        (d) => d !== 'ours',
      )
        .map((d) => fmt(ours / med(by[d], rate), 2))
        .join(' | ')} |`,
    );
  }
  rows.push('');
  rows.push(`| point | ${DAEMONS.map((d) => `${d} CPU s per M lines at ${k(CPU_RATE)}/s (loss)`).join(' | ')} |`);
  rows.push(`| --- |${' --- |'.repeat(DAEMONS.length)}`);
  for (const [key, by] of Object.entries(fixedRate))
    rows.push(
      `| ${key.replace('x', ' × ')} | ${DAEMONS.map(
        (d) =>
          `${fmt(
            med(by[d], (t) => t.cpuSecPerMLines),
            2,
          )} (${fmt(
            med(by[d], (t) => t.loss * 100),
            2,
          )} %)`,
      ).join(' | ')} |`,
    );
  rows.push('');
  const ms = (ts: Trial[] | undefined, f: (t: Trial) => number) => fmt(med(ts, f), 1);
  rows.push(
    `| point | daemon | peak RSS MB | flush ms | loop delay p99 ms at ${k(CPU_RATE)}/s (worst second) | loop delay p99 ms at the highest rate (worst second) | worst loop block ms |`,
  );
  rows.push('| --- | --- | --- | --- | --- | --- | --- |');
  // The loop measured is the main thread's, or for ours-ft* the ingest thread's (eld-probe.cjs).
  for (const [key, by] of Object.entries(results)) {
    for (const d of DAEMONS) {
      const fixed = fixedRate[key]?.[d];
      const atFixed = `${ms(fixed, (t) => t.eldTrialP99Ms)} (${ms(fixed, (t) => t.eldP99Ms)})`;
      const atMax = `${ms(by[d], (t) => t.eldTrialP99Ms)} (${ms(by[d], (t) => t.eldP99Ms)})`;
      rows.push(
        `| ${key.replace('x', ' × ')} | ${d} | ${fmt(med(by[d], (t) => t.peakRssMb))} | ${ms(by[d], (t) => t.flushMs)} | ${atFixed} | ${atMax} | ${ms(by[d], (t) => t.eldMaxMs)} |`,
      );
    }
  }
  console.log('\n' + rows.join('\n'));
  for (const [name, t] of Object.entries(burst))
    console.log(`burst 20k datagrams, ${name}: lost ${t.sent.counters - t.counted} of ${t.sent.counters}`);
  const stamp = new Date().toISOString().replaceAll(':', '-');
  const file = join(OUT, `results-${stamp}.json`);
  const doc: BenchResults & { burst: typeof burst } = {
    machine,
    daemons: labels,
    duration: DURATION,
    flushIntervalS: FLUSH_S,
    repeats: REPEATS,
    cpuRate: CPU_RATE,
    results,
    fixedRate,
    burst,
  };
  writeFileSync(file, JSON.stringify(doc, null, 1));
  writeFileSync(file.replace(/\.json$/, '.svg'), throughputSvg(doc));
  console.log(`\nwrote ${file} and ${file.replace(/\.json$/, '.svg')}`);
}

await main();
