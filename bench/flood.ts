// Cardinality flood: over a million distinct series names at the built daemon, to show
// that `max-series` bounds its memory. See docs/reliability.md.
//
//   npm run flood -- [--names 1200000] [--rate 200000] [--max-series 200000]
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  compileTools,
  daemonEnv,
  freePort,
  freeTcpPort,
  loadgen,
  NODE_FLAGS,
  peakRssMb,
  ROOT,
  rssMb,
  Sink,
  sleep,
  waitReady,
} from './lib.js';

const { values: opt } = parseArgs({
  options: {
    names: { type: 'string', default: '1200000' },
    rate: { type: 'string', default: '200000' },
    'max-series': { type: 'string', default: '200000' },
  },
});
const NAMES = Number(opt.names);
const RATE = Number(opt.rate);

async function metrics(web: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${web}/metrics`)).text();
  return new Map(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))] as [string, number]),
  );
}

async function main(): Promise<void> {
  compileTools();
  const sink = new Sink();
  await sink.ready;
  const udp = await freePort();
  const web = await freeTcpPort();
  const toml = join(ROOT, 'bench', 'out', 'flood.toml');
  writeFileSync(
    toml,
    `backends = "sepagent"\nflush-interval = "1s"\nmax-series = ${opt['max-series']}\nreceive-buffer-size = "8MiB"\n` +
      `[sepagent]\nport = ${sink.port}\nsep_regexp = 'sep([0-9]+)'\ncluster_regexp = 'external_cluster_sep([0-9]+)'\n`,
  );
  const daemon = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      join(ROOT, 'dist', 'main.js'),
      '--config-path',
      toml,
      '--metrics-addr',
      `127.0.0.1:${udp}`,
      '--web-addr',
      `127.0.0.1:${web}`,
    ],
    { env: daemonEnv(), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitReady(web);
  const idle = rssMb(daemon.pid!);
  const sent = await loadgen(udp, [
    '--series',
    String(NAMES),
    '--rate',
    String(RATE),
    '--duration',
    String(NAMES / RATE),
  ]);
  await sleep(3000);
  const m = await metrics(web);
  const peak = peakRssMb(daemon.pid!);
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('exit', r));
  sink.stop();
  const series = ['counter', 'gauge', 'timer', 'set'].reduce(
    (a, k) => a + (m.get(`statsd_sepagent_series{type="${k}"}`) ?? 0),
    0,
  );
  console.log(
    [
      `flood: ${sent.lines} lines with ${Math.min(NAMES, sent.lines)} distinct names at ${Math.round(sent.lineRate)} lines/s, max-series ${opt['max-series']}`,
      `idle RSS ${idle.toFixed(0)} MB, peak RSS ${peak.toFixed(0)} MB`,
      `live series ${series}; samples dropped by the cap ${m.get('statsd_sepagent_series_dropped_total')}; ` +
        `samples accepted ${['counter', 'gauge', 'timer'].reduce((a, k) => a + (m.get(`statsd_sepagent_samples_received_total{type="${k}"}`) ?? 0), 0)}; ` +
        `kernel drops ${m.get('statsd_sepagent_udp_receive_drops_total')}`,
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
