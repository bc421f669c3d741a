// The side-by-side benchmark: statsd-sepagent against Etsy's statsd on the same matrix,
// the same machine, with an Envoy-shaped C load generator. The peer runs on the system Node
// (as its users run it) with a backend that renders the same SepAgent documents.
//
//   npm run bench -- [--duration 8] [--repeats 3] [--flush-interval 1] [--quick]
//                    [--points 1x1000,1x100000,20x1000,20x100000] [--daemons ours,peer]
//
// For every point it searches the highest sustained line rate with < 0.1 % loss, loss
// counted end to end: counter and timer lines sent versus the counts the daemon flushed
// to a counting UDP sink. See docs/performance.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  compileTools,
  cpuTicks,
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
  type Sent,
} from './lib.js';
const NODE = process.execPath;
/** The peer runs on the system Node when there is one (v20 here), as its users run it; PEER_NODE overrides. */
const PEER_NODE =
  process.env.PEER_NODE ??
  (process.env.PATH ?? '')
    .split(':')
    .filter((d) => d !== '' && !d.includes('node_modules'))
    .map((d) => join(d, 'node'))
    .find((p) => existsSync(p)) ??
  NODE;
const LOSS_LIMIT = 0.001;
const RCVBUF = 8 * 1024 * 1024;

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    repeats: { type: 'string', default: '3' },
    'flush-interval': { type: 'string', default: '1' },
    points: { type: 'string', default: '1x1000,1x100000,20x1000,20x100000' },
    daemons: { type: 'string', default: 'ours,peer' },
    quick: { type: 'boolean', default: false },
    'no-burst': { type: 'boolean', default: false },
    'peer-backend': { type: 'string', default: 'sepagent' },
  },
});
const DURATION = opt.quick ? 3 : Number(opt.duration);
const REPEATS = opt.quick ? 1 : Number(opt.repeats);
const FLUSH_S = Number(opt['flush-interval']);
/** `sepagent`: the peer renders SepAgent documents like ours; `count`: it only sums (no output work). */
const PEER_BACKEND = opt['peer-backend'];
type DaemonName = 'ours' | 'peer';
const DAEMONS = opt.daemons.split(',') as DaemonName[];
const POINTS = opt.points.split(',').map((p) => {
  const [l, s] = p.split('x');
  return { lpd: Number(l), series: Number(s) };
});

interface Trial {
  target: number;
  sent: Sent;
  counted: number;
  loss: number;
  kernelDrops: number;
  /** Datagrams the counting sink's socket dropped (must be 0 for a valid trial). */
  sinkDrops: number;
  cpuPct: number;
  peakRssMb: number;
  flushMs: number;
  /** Longest event-loop block in any flush interval of the trial. */
  eldMaxMs: number;
  /** Highest per-interval p99 event-loop delay of the trial (each interval holds one flush). */
  eldP99Ms: number;
  pass: boolean;
}

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
  const env = { ...process.env, ELD_OUT: eldFile, ELD_WINDOW_MS: String(FLUSH_S * 1000) };
  const probe = ['-r', join(ROOT, 'bench', 'eld-probe.cjs')];
  let proc: ChildProcess;
  let flushMs: () => Promise<number>;
  if (name === 'ours') {
    const web = await freeTcpPort();
    const cfg = join(OUT, 'ours.toml');
    writeFileSync(cfg, oursConfig({ port, web, sinkPort, flushS: FLUSH_S, rcvbuf: RCVBUF }));
    // As shipped: the entry points' V8 flags and the image's malloc settings (docs/performance.md).
    proc = spawn(
      'taskset',
      ['-c', '1', NODE, ...NODE_FLAGS, ...probe, join(ROOT, 'dist', 'main.js'), '--config-path', cfg],
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
          join(ROOT, 'bench', PEER_BACKEND === 'count' ? 'etsy-count-backend.cjs' : 'etsy-sepagent-backend.cjs'),
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
      String(Math.max(1, (series * 1.2) / warmRate)),
    ];
    await loadgen(d.port, ['--lines-per-datagram', String(lpd), ...warmArgs, ...mix]);
    await sleep(FLUSH_S * 1000 + 500);
    const before = sink.total;
    const drops0 = udpDrops(d.port);
    const cpu0 = cpuTicks(d.proc.pid!);
    rmSync(d.eldFile, { force: true });
    const sent = await loadgen(d.port, [
      '--lines-per-datagram',
      String(lpd),
      '--series',
      String(series),
      '--rate',
      String(rate),
      '--duration',
      String(DURATION),
      ...extra,
    ]);
    const cpu1 = cpuTicks(d.proc.pid!);
    const kernelDrops = udpDrops(d.port) - drops0;
    // Wait for the flushes that carry the last samples, then for the sink to settle.
    await sleep(FLUSH_S * 2000 + 1000);
    let last = -1;
    while (sink.total !== last) {
      last = sink.total;
      await sleep(300);
    }
    const counted = sink.total - before;
    const sinkDrops = udpDrops(sink.port);
    const expected = sent.counters + sent.timers;
    const loss = expected === 0 ? 0 : Math.max(0, (expected - counted) / expected);
    const windows = existsSync(d.eldFile)
      ? readFileSync(d.eldFile, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { maxMs: number; p99Ms: number })
      : [];
    const eld = windows.map((w) => w.maxMs);
    const eldP99 = windows.map((w) => w.p99Ms);
    if (process.env.BENCH_DEBUG) console.log({ expected, counted, before, sent });
    const t: Trial = {
      target: rate,
      sent,
      counted,
      loss,
      kernelDrops,
      sinkDrops,
      cpuPct: ((cpu1 - cpu0) / 100 / sent.elapsed) * 100,
      peakRssMb: peakRssMb(d.proc.pid!),
      flushMs: await d.flushMs(),
      eldMaxMs: eld.length === 0 ? NaN : Math.max(...eld),
      eldP99Ms: eldP99.length === 0 ? NaN : Math.max(...eldP99),
      pass: loss < LOSS_LIMIT,
    };
    return t;
  } finally {
    await d.stop();
    sink.stop();
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const k = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);

/** Highest sustained rate with < 0.1 % loss, by doubling then bisecting to 5 %. */
async function maxRate(name: DaemonName, lpd: number, series: number): Promise<Trial | undefined> {
  let lo: Trial | undefined;
  let hiRate = Infinity;
  let rate = (name === 'ours' ? 200_000 : 100_000) * (lpd > 1 ? 4 : 1);
  for (let i = 0; i < 12; i++) {
    const t = await trial(name, lpd, series, rate);
    const achieved = t.sent.lineRate;
    console.log(
      `    ${name} ${lpd}x${series} target ${k(rate)}/s sent ${k(achieved)}/s loss ${(t.loss * 100).toFixed(3)}% ` +
        `drops ${t.kernelDrops} sink-drops ${t.sinkDrops} cpu ${fmt(t.cpuPct)}% rss ${fmt(t.peakRssMb)}MB flush ${fmt(t.flushMs, 1)}ms eld ${fmt(t.eldMaxMs, 1)}ms p99 ${fmt(t.eldP99Ms, 1)}ms ${t.pass ? 'PASS' : 'fail'}`,
    );
    if (t.pass) {
      if (lo === undefined || achieved > lo.sent.lineRate) lo = t;
      if (achieved < rate * 0.95) break; // the generator is the limit
    } else hiRate = Math.min(hiRate, rate);
    const loRate = lo?.sent.lineRate ?? 0;
    if (hiRate !== Infinity && (hiRate - loRate) / hiRate < 0.05) break;
    rate = hiRate === Infinity ? rate * 2 : Math.round((loRate + hiRate) / 2);
  }
  return lo;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  compileTools();
  const peerNode = spawnSync(PEER_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const statsdVersion = (
    JSON.parse(readFileSync(join(ROOT, 'node_modules', 'statsd', 'package.json'), 'utf8')) as { version: string }
  ).version;
  const peer = `Etsy statsd ${statsdVersion} on node ${peerNode}, ${PEER_BACKEND} backend`;
  console.log(`peer: ${peer}`);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
  console.log(
    `machine: ${machine}\nduration ${DURATION}s per trial, flush interval ${FLUSH_S}s, ${REPEATS} repeat(s), loss limit ${LOSS_LIMIT * 100}%`,
  );
  const results: Record<string, Record<DaemonName, Trial[]>> = {};
  const burst: Record<string, Trial> = {};
  await withSysctls(RCVBUF, async () => {
    for (let r = 0; r < REPEATS; r++) {
      for (const p of POINTS) {
        const key = `${p.lpd}x${p.series}`;
        results[key] ??= { ours: [], peer: [] };
        for (const name of DAEMONS) {
          console.log(`repeat ${r + 1}: ${name} ${p.lpd} line(s)/datagram, ${p.series} series`);
          const best = await maxRate(name, p.lpd, p.series);
          if (best) results[key][name].push(best);
        }
      }
    }
    if (!opt['no-burst']) {
      for (const name of DAEMONS) {
        // 20,000 one-line datagrams (counters and gauges) at once, as fast as the generator goes.
        burst[name] = await trial(name, 1, 20_000, 0, ['--mix', '60:40:0', '--burst-interval', '5', '--bursts', '1']);
        console.log(
          `burst of 20,000 datagrams: ${name} lost ${burst[name].sent.counters - burst[name].counted} of ${burst[name].sent.counters} counter lines`,
        );
      }
    }
  });

  const rows: string[] = [];
  rows.push(
    '| point | ours lines/s | peer lines/s | ours/peer | ours CPU % | ours peak RSS MB | ours flush ms | ours loop delay p99 ms | ours worst loop block ms | peer flush ms | peer loop delay p99 ms | peer worst loop block ms |',
  );
  rows.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const summary: Record<string, unknown> = {};
  for (const [key, byDaemon] of Object.entries(results)) {
    const o = byDaemon.ours;
    const q = byDaemon.peer;
    const or = median(o.map((t) => t.sent.lineRate));
    const pr = median(q.map((t) => t.sent.lineRate));
    summary[key] = { oursLinesPerSec: or, peerLinesPerSec: pr, ratio: or / pr };
    rows.push(
      `| ${key.replace('x', ' line(s) × ')} series | ${k(or)} | ${k(pr)} | ${fmt(or / pr, 2)} | ${fmt(median(o.map((t) => t.cpuPct)))} | ` +
        `${fmt(median(o.map((t) => t.peakRssMb)))} | ${fmt(median(o.map((t) => t.flushMs)), 1)} | ${fmt(median(o.map((t) => t.eldP99Ms)), 1)} | ${fmt(median(o.map((t) => t.eldMaxMs)), 1)} | ` +
        `${fmt(median(q.map((t) => t.flushMs)), 1)} | ${fmt(median(q.map((t) => t.eldP99Ms)), 1)} | ${fmt(median(q.map((t) => t.eldMaxMs)), 1)} |`,
    );
  }
  console.log('\n' + rows.join('\n'));
  for (const [name, t] of Object.entries(burst))
    console.log(`burst 20k datagrams, ${name}: lost ${t.sent.counters - t.counted} of ${t.sent.counters}`);
  const file = join(OUT, `results-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { machine, peer, duration: DURATION, flushIntervalS: FLUSH_S, repeats: REPEATS, summary, results, burst },
      null,
      1,
    ),
  );
  console.log(`\nwrote ${file}`);
}

await main();
