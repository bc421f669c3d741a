// What a fleet of sidecars pays: N daemons as the chart runs them, each at a moderate load,
// and their memory per instance as the kernel counts it.
//
//   npm run bench:fleet -- [--instances 10] [--series 1000] [--rate 2000] [--warmup 60]
//                          [--rounds 3] [--builds /path/to/other/checkout,...]
//
// Each instance is the chart's sidecar container (`helm template` of charts/statsd-sepagent
// with its default values: its args, its ConfigMap served by the fake API server of
// test/support over HTTPS with a test CA, watched as in a pod), started with the image's
// node flags and environment (read from the Dockerfile's ENTRYPOINT and ENV; the
// container's own variables, such as NODE_OPTIONS, over them), sending to a counting SepAgent sink
// (`--set sepagent.host=…,sepagent.port=…`, as a user points the chart at SepAgent).
// The C load generator sends each instance `--series` Envoy-shaped series, one line per
// datagram, at `--rate` lines/s. After `--warmup` seconds, /proc/PID/smaps_rollup is read
// three times a second apart; an instance's figure is its largest reading. Printed per
// instance and as the median over instances, beside a fleet of bare `node` processes with
// the same flags and environment (the floor). Each build in `--builds` (the current
// checkout first; others must be built) is measured in turn, `--rounds` times, and the
// medians of the rounds are printed. Pss divides each shared page among the processes
// that map it, so it is what each pod adds on a node running many of them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { certificates } from '../test/support/certs.js';
import { FakeKubeApi } from '../test/support/fake-kube-api.js';
import { compileTools, freePort, freeTcpPort, loadgen, ROOT, sh, Sink, sleep, waitReady } from './lib.js';

const { values: opt } = parseArgs({
  options: {
    instances: { type: 'string', default: '10' },
    series: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '3' },
    builds: { type: 'string', default: '' },
  },
});
const N = Number(opt.instances);
const SERIES = Number(opt.series);
const RATE = Number(opt.rate);
const WARMUP_S = Number(opt.warmup);
const ROUNDS = Number(opt.rounds);
const NS = 'fleet';

/** One reading of /proc/PID/smaps_rollup, in MB. */
interface Memory {
  pss: number;
  anon: number;
  rss: number;
}

function smapsRollup(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { pss: kb('Pss') / 1024, anon: kb('Anonymous') / 1024, rss: kb('Rss') / 1024 };
}

/** The image's node flags and environment, as the Dockerfile sets them. */
function imageRuntime(root: string): { flags: string[]; env: Record<string, string> } {
  const file = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(file);
  if (entry === null) throw new Error('no ENTRYPOINT in the Dockerfile');
  const argv = JSON.parse(entry[1]!) as string[];
  const flags = argv.slice(1, argv.indexOf('dist/main.js'));
  const env: Record<string, string> = {};
  for (const m of file.matchAll(/^ENV\s+(.+)$/gm))
    for (const kv of m[1]!.trim().split(/\s+/)) {
      const eq = kv.indexOf('=');
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  return { flags, env };
}

/** A build's chart: its sidecar container (args, literal env) and its ConfigMap, rendered with the default values. */
function chartSidecar(
  root: string,
  sinkPort: number,
): {
  args: string[];
  env: Record<string, string>;
  configMap: string;
  key: string;
  data: string;
} {
  sh('bash', [join(ROOT, 'scripts', 'get-helm.sh')]);
  const out = sh(join(ROOT, '.tools', 'bin', 'helm'), [
    'template',
    'fleet',
    join(root, 'charts', 'statsd-sepagent'),
    '--namespace',
    NS,
    '--set',
    `sepagent.host=127.0.0.1,sepagent.port=${sinkPort}`,
  ]);
  interface Rendered {
    kind?: string;
    metadata?: { name?: string };
    data?: Record<string, string>;
    spec?: { template?: { spec?: { containers?: Container[]; initContainers?: Container[] } } };
  }
  interface Container {
    name: string;
    args: string[];
    env?: Array<{ name: string; value?: string }>;
  }
  const docs = parseAllDocuments(out).map((d) => (d.toJS() ?? {}) as Rendered);
  const pod = docs.find((d) => d.kind === 'Deployment')?.spec?.template?.spec;
  const sidecar = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].find(
    (c) => c.name === 'statsd-sepagent',
  );
  if (sidecar === undefined) throw new Error('the chart renders no statsd-sepagent container');
  const flag = (name: string): string => {
    const a = sidecar.args.find((x) => x.startsWith(`--${name}=`));
    if (a === undefined) throw new Error(`the sidecar has no --${name}`);
    return a.slice(name.length + 3);
  };
  const configMap = flag('configmap');
  const key = flag('configmap-key');
  const data = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === configMap)?.data?.[key];
  if (data === undefined) throw new Error(`the chart renders no ConfigMap ${configMap} with ${key}`);
  // The container's literal variables (NODE_OPTIONS); the Downward API ones are set per instance.
  const env = Object.fromEntries(
    (sidecar.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
  );
  return { args: sidecar.args, env, configMap, key, data };
}

/** Starts `n` processes, waits for each (its `ready`), reads their memory after the warm-up, stops them. */
async function measureFleet(
  n: number,
  start: (i: number) => Promise<{ proc: ChildProcess; load?: () => Promise<unknown> }>,
): Promise<Memory[]> {
  const procs: ChildProcess[] = [];
  const loads: Array<Promise<unknown>> = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = await start(i);
      procs.push(s.proc);
      if (s.load !== undefined) loads.push(s.load());
    }
    await sleep(WARMUP_S * 1000);
    const worst: Memory[] = procs.map(() => ({ pss: 0, anon: 0, rss: 0 }));
    for (let r = 0; r < 3; r++) {
      procs.forEach((p, i) => {
        const m = smapsRollup(p.pid!);
        const w = worst[i]!;
        w.pss = Math.max(w.pss, m.pss);
        w.anon = Math.max(w.anon, m.anon);
        w.rss = Math.max(w.rss, m.rss);
      });
      await sleep(1000);
    }
    return worst;
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.allSettled(loads);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function daemonFleet(root: string, api: FakeKubeApi, sink: Sink): Promise<Memory[]> {
  const { flags, env } = imageRuntime(root);
  const chart = chartSidecar(root, sink.port);
  api.upsert(NS, chart.configMap, { [chart.key]: chart.data });
  const kubeconfig = api.writeKubeconfig({ namespace: NS });
  const node = process.execPath;
  return measureFleet(N, async (i) => {
    const port = await freePort();
    const web = await freeTcpPort();
    const args = chart.args
      .filter((a) => !a.startsWith('--metrics-addr=') && !a.startsWith('--web-addr='))
      .concat([`--metrics-addr=127.0.0.1:${port}`, `--web-addr=127.0.0.1:${web}`, `--kubeconfig=${kubeconfig}`]);
    let stderr = '';
    const proc = spawn(node, [...flags, join(root, 'dist', 'main.js'), ...args], {
      cwd: root,
      env: {
        PATH: process.env['PATH'] ?? '',
        ...env,
        ...chart.env,
        POD_NAMESPACE: NS,
        POD_NAME: `app-${i}`,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    await waitReady(web, () => stderr);
    const duration = WARMUP_S + 4;
    return {
      proc,
      load: () =>
        loadgen(port, [
          '--lines-per-datagram',
          '1',
          '--series',
          String(SERIES),
          '--rate',
          String(RATE),
          '--duration',
          String(duration),
        ]),
    };
  });
}

async function bareFleet(root: string, sinkPort: number): Promise<Memory[]> {
  const { flags, env } = imageRuntime(root);
  const chart = chartSidecar(root, sinkPort);
  return measureFleet(N, async () => {
    const proc = spawn(process.execPath, [...flags, '-e', 'setInterval(() => {}, 1000)'], {
      env: { PATH: process.env['PATH'] ?? '', ...env, ...chart.env },
      stdio: 'ignore',
    });
    await sleep(300);
    return { proc };
  });
}

function row(label: string, ms: Memory[]): string {
  const f = (k: keyof Memory): string =>
    `${median(ms.map((m) => m[k])).toFixed(1)} (${Math.min(...ms.map((m) => m[k])).toFixed(1)}–${Math.max(...ms.map((m) => m[k])).toFixed(1)})`;
  return `| ${label} | ${f('pss')} | ${f('anon')} | ${f('rss')} |`;
}

async function main(): Promise<void> {
  compileTools();
  const builds = [
    ROOT,
    ...opt.builds
      .split(',')
      .filter(Boolean)
      .map((b) => resolve(b)),
  ];
  for (const b of builds)
    if (spawnSync('test', ['-f', join(b, 'dist', 'main.js')]).status !== 0) throw new Error(`${b} is not built`);
  const sink = new Sink();
  await sink.ready;
  // HTTPS, as every cluster serves its API: the TLS session and the CA are part of what a pod pays.
  const certDir = mkdtempSync(join(tmpdir(), 'fleet-tls-'));
  const api = await FakeKubeApi.start({ namespaces: [NS], tls: certificates(certDir) });
  const results = new Map<string, Memory[][]>();
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const b of builds) {
        const ms = await daemonFleet(b, api, sink);
        console.log(`round ${r + 1}, ${b}:`);
        ms.forEach((m, i) =>
          console.log(
            `  instance ${i}: Pss ${m.pss.toFixed(1)} MB, Anonymous ${m.anon.toFixed(1)} MB, RSS ${m.rss.toFixed(1)} MB`,
          ),
        );
        results.set(b, [...(results.get(b) ?? []), ms]);
      }
      const bare = await bareFleet(ROOT, sink.port);
      console.log(`round ${r + 1}, bare node: Pss ${median(bare.map((m) => m.pss)).toFixed(1)} MB`);
      results.set('bare', [...(results.get('bare') ?? []), bare]);
    }
  } finally {
    await api.stop();
    sink.stop();
    rmSync(certDir, { recursive: true, force: true });
  }
  // Per instance: the median over rounds; then the median and range over instances.
  const summary = (rounds: Memory[][]): Memory[] =>
    rounds[0]!.map((_, i) => ({
      pss: median(rounds.map((ms) => ms[i]!.pss)),
      anon: median(rounds.map((ms) => ms[i]!.anon)),
      rss: median(rounds.map((ms) => ms[i]!.rss)),
    }));
  console.log(
    `\n${N} instances, ${SERIES} series each at ${RATE} lines/s (1 line per datagram), medians of ${ROUNDS} rounds, MB per instance: median (min–max)\n`,
  );
  console.log('| build | Pss | Anonymous | RSS |\n| --- | --- | --- | --- |');
  for (const b of builds) console.log(row(b === ROOT ? 'this checkout' : b, summary(results.get(b)!)));
  console.log(row('bare node, same flags', summary(results.get('bare')!)));
  console.log(`\nSepAgent documents received by the sink: ${sink.total}`);
}

await main();
