// Shared pieces of the benchmark and soak runners: the C tools (load generator and
// counting sink), receive-buffer sysctls and /proc readings.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { udpKernelDrops } from '../src/receivers/udp/kernel-drops.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const OUT = join(ROOT, 'bench', 'out');

export interface Sent {
  datagrams: number;
  lines: number;
  counters: number;
  timers: number;
  elapsed: number;
  lineRate: number;
}
/**
 * The V8 flags the daemon ships with (Dockerfile ENTRYPOINT, `npm start`, `make run`);
 * `BENCH_NODE_FLAGS` replaces them for experiments.
 */
export const NODE_FLAGS = (process.env['BENCH_NODE_FLAGS'] ?? '--max-semi-space-size=4').split(' ').filter(Boolean);

/** The daemon's environment: ours plus the container image's malloc settings (Dockerfile). */
export function daemonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] ?? '2',
    MALLOC_MMAP_THRESHOLD_: process.env['MALLOC_MMAP_THRESHOLD_'] ?? '131072',
    ...extra,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Compiles the load generator and the counting sink into bench/out (gcc). */
export function compileTools(): void {
  mkdirSync(OUT, { recursive: true });
  for (const prog of ['loadgen', 'sink']) {
    sh('gcc', ['-O2', '-Wall', '-o', join(OUT, prog), join(ROOT, 'bench', `${prog}.c`)]);
  }
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('run "npm run build" first');
}

/** Both daemons get the same 8 MiB receive buffer: ours asks for it, the peer inherits rmem_default. */
export function withSysctls<T>(RCVBUF: number, fn: () => Promise<T>): Promise<T> {
  const keys = ['net.core.rmem_max', 'net.core.rmem_default'];
  const old = keys.map((k) => readFileSync(`/proc/sys/${k.replaceAll('.', '/')}`, 'utf8').trim());
  const set = (vals: string[]) => keys.forEach((k, i) => spawnSync('sysctl', ['-q', '-w', `${k}=${vals[i]}`]));
  set([String(RCVBUF), String(RCVBUF)]);
  const now = keys.map((k) => readFileSync(`/proc/sys/${k.replaceAll('.', '/')}`, 'utf8').trim());
  if (now[0] !== String(RCVBUF))
    console.warn(`! could not set net.core.rmem_max (${now[0]}); results are not comparable`);
  return fn().finally(() => set(old));
}

export async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** A TCP port free on 127.0.0.1 right now (for the daemon's HTTP server). */
export async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

export class Sink {
  readonly proc: ChildProcess;
  total = 0;
  port = 0;
  readonly ready: Promise<void>;
  constructor() {
    this.proc = spawn('taskset', ['-c', '0', join(OUT, 'sink'), '--port', '0', '--rcvbuf', String(64 << 20)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.ready = new Promise((resolveReady) => {
      let buf = '';
      this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        for (;;) {
          const nl = buf.indexOf('\n');
          if (nl < 0) break;
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const m = /^listening (\d+)/.exec(line);
          if (m) {
            this.port = Number(m[1]);
            resolveReady();
          }
          const t = /^total (\d+)/.exec(line);
          if (t) this.total = Number(t[1]);
        }
      });
    });
  }
  stop(): void {
    this.proc.kill('SIGKILL');
  }

  /**
   * Resolves once the total has not moved for `quietMs`: the flushes carrying what was
   * sent have arrived (after traffic stops, a daemon's flushes add only zero counts).
   */
  async settled(quietMs: number): Promise<void> {
    let last = -1;
    while (this.total !== last) {
      last = this.total;
      await sleep(quietMs);
    }
  }
}

/** Kernel drops on the UDP socket bound to `port` (the daemon's own reader of /proc/net/udp). */
export function udpDrops(port: number): number {
  return udpKernelDrops(port) ?? 0;
}

export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/**
 * Each thread kind's time on a CPU and time runnable but waiting for one (the run queue),
 * in seconds, summed by thread name (MainThread, WorkerThread, V8Worker, …) from
 * /proc/PID/task/TID/schedstat: what a thread lost to the others on a busy machine.
 */
export function threadTimes(pid: number): Map<string, { run: number; wait: number }> {
  const out = new Map<string, { run: number; wait: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      const t = out.get(comm) ?? { run: 0, wait: 0 };
      t.run += run! / 1e9;
      t.wait += wait! / 1e9;
      out.set(comm, t);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Current resident set size of a process, in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * A process's resident memory split as the kernel counts it (`RssAnon`, `RssFile` in
 * /proc/PID/status), in MB: anonymous pages are the process's own; file-backed pages are
 * its program and libraries, page cache shared by every process that maps the same file
 * (a memory cgroup is charged for a page once: the first to read it).
 */
export function residentSplit(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
}

/**
 * Resident memory of a process by kind of mapping, in MB (from /proc/PID/smaps): the
 * malloc heap (`[heap]`, glibc's main arena), anonymous mappings (V8's heap pages, other
 * malloc arenas, large allocations) and file-backed mappings (the node binary's code).
 */
export function residentByKind(pid: number): { brk: number; anon: number; files: number } {
  const out = { brk: 0, anon: 0, files: 0 };
  let kind: keyof typeof out = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? '';
      kind = name === '[heap]' ? 'brk' : name === '' || name.startsWith('[') ? 'anon' : 'files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]) / 1024;
  }
  return out;
}

/** Resolves when something is bound to UDP `port` on this host (/proc/net/udp), 10 s at most. */
export async function udpBound(port: number, what: string): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  for (let i = 0; !readFileSync('/proc/net/udp', 'utf8').includes(hex); i++) {
    if (i > 100) throw new Error(`${what} did not start`);
    await sleep(100);
  }
}

/**
 * The benchmarked daemon's config document: sepagent backend to a counting sink on
 * `sinkPort`, one worker, StatsD on `port`, admin on `web`.
 */
export function oursConfig(o: {
  port: number;
  web: number;
  sinkPort: number;
  flushS: number;
  rcvbuf: number;
  /** More top-level keys (TOML lines). */
  extra?: string;
  backends?: string;
  /** `max-workers` (default 1). */
  workers?: number;
}): string {
  return (
    `backends = "${o.backends ?? 'sepagent'}"\nmax-workers = ${o.workers ?? 1}\n${o.extra ?? ''}flush-interval = "${o.flushS}s"\nmetrics-addr = "127.0.0.1:${o.port}"\n` +
    `web-addr = "127.0.0.1:${o.web}"\nreceive-buffer-size = ${o.rcvbuf}\n[sepagent]\nhost = "127.0.0.1"\nport = ${o.sinkPort}\n` +
    `sep_regexp = 'sep([0-9]+)'\ncluster_regexp = 'external_cluster_sep([0-9]+)'\n`
  );
}

/** What {@link send} sends: the load generator's main options. */
export interface Traffic {
  linesPerDatagram: number;
  series: number;
  /** Lines per second. */
  rate: number;
  /** Seconds. */
  duration: number;
  /** Suffix for every name, so each generation is a new set of series. */
  generation?: number;
}

/** Runs the load generator once with `t` (plus any raw `extra` options). */
export function send(port: number, t: Traffic, extra: string[] = []): Promise<Sent> {
  const args = ['--lines-per-datagram', String(t.linesPerDatagram), '--series', String(t.series)];
  args.push('--rate', String(t.rate), '--duration', String(t.duration));
  if (t.generation !== undefined) args.push('--generation', String(t.generation));
  return loadgen(port, [...args, ...extra]);
}

export function loadgen(port: number, args: string[]): Promise<Sent> {
  return new Promise((res, rej) => {
    const p = spawn('taskset', ['-c', '0', join(OUT, 'loadgen'), '--port', String(port), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    // 'close', not 'exit': the output may still be unread when the process exits.
    p.on('close', (code) => (code === 0 ? res(JSON.parse(out) as Sent) : rej(new Error(`loadgen exited ${code}`))));
  });
}

/** Waits until the daemon's admin server answers /readyz (10 s at most). */
export async function waitReady(webPort: number, describe: () => string = () => ''): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${webPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (i > 100) throw new Error(`daemon did not start\n${describe()}`);
    await sleep(100);
  }
}

/**
 * Heap in use after two full collections, for per-series memory figures. Needs
 * `node --expose-gc`.
 */
export function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
