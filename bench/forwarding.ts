// Two tiers on one machine: 4 forwarding daemons (server-mode = "forwarder", one load
// generator each) POST to one aggregation daemon's /v2/raw. Reports, per total line rate,
// what arrived at the aggregator (counter lines summed from its Prometheus exposition,
// so every line is counted end to end), the loss, and the CPU each tier spent per million
// lines. Usage: npm run bench:forwarding -- [--rates 100000,200000,400000] [--duration 10]
//   [--series 1000] [--lines 20]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  compileTools,
  cpuTicks,
  daemonEnv,
  freePort,
  freeTcpPort,
  NODE_FLAGS,
  peakRssMb,
  ROOT,
  send,
  sleep,
  udpDrops,
  waitReady,
  withSysctls,
} from './lib.js';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '100000,200000,400000' },
    duration: { type: 'string', default: '10' },
    series: { type: 'string', default: '1000' },
    lines: { type: 'string', default: '20' },
  },
});
const FORWARDERS = 4;
const RCVBUF = 8 << 20;
const TICK = 100; // clock ticks per second (/proc/PID/stat)
const dir = mkdtempSync(join(tmpdir(), 'bench-forwarding-'));
console.log(`daemon logs: ${dir}`);

function daemon(name: string, toml: string): ChildProcess {
  const path = join(dir, `${name}.toml`);
  writeFileSync(path, toml);
  const log = openSync(join(dir, `${name}.log`), 'w');
  return spawn(process.execPath, [...NODE_FLAGS, join(ROOT, 'dist', 'main.js'), '--config-path', path], {
    env: daemonEnv(),
    stdio: ['ignore', 'ignore', log],
  });
}

/** Sum of the loadgen's counter series in a Prometheus exposition (each counter line is 1). */
function counterSum(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('envoy_cluster_')) continue;
    const [name, value] = line.split(' ');
    if (name!.includes('upstream_') && /_total_\d+|_2xx_|_5xx_|_retry_|_destroy_|_timeout_|_bytes_total_/.test(name!))
      n += Number(value);
  }
  return n;
}

interface Row {
  rate: number;
  sent: number;
  delivered: number;
  lossPct: number;
  kernelDrops: number;
  aggCpuPerM: number;
  fwdCpuPerM: number;
  aggRss: number;
  fwdRss: number;
}

async function run(rate: number): Promise<Row> {
  const [aggUdp, aggWeb, aggHttp] = [await freePort(), await freeTcpPort(), await freeTcpPort()];
  const agg = daemon(
    'aggregator',
    `backends = "prometheus"\nmax-workers = 1\nflush-interval = "1s"\nmetrics-addr = "127.0.0.1:${aggUdp}"\n` +
      `web-addr = "127.0.0.1:${aggWeb}"\nhttp-servers = "main"\n[http.main]\naddress = "127.0.0.1:${aggHttp}"\nenable-ingestion = true\n`,
  );
  const fwd: Array<{ proc: ChildProcess; udp: number; web: number }> = [];
  for (let i = 0; i < FORWARDERS; i++) {
    const [udp, web] = [await freePort(), await freeTcpPort()];
    const proc = daemon(
      `forwarder${i}`,
      `server-mode = "forwarder"\nmax-workers = 1\nmetrics-addr = "127.0.0.1:${udp}"\nweb-addr = "127.0.0.1:${web}"\n` +
        `receive-buffer-size = ${RCVBUF}\n[http-transport]\napi-endpoint = "http://127.0.0.1:${aggHttp}"\nflush-interval = "1s"\n`,
    );
    fwd.push({ proc, udp, web });
  }
  await waitReady(aggWeb);
  for (const f of fwd) await waitReady(f.web);
  const cpu0 = cpuTicks(agg.pid!);
  const fcpu0 = fwd.map((f) => cpuTicks(f.proc.pid!));
  const traffic = {
    linesPerDatagram: Number(values.lines),
    series: Number(values.series),
    rate: rate / FORWARDERS,
    duration: Number(values.duration),
  };
  const sent = await Promise.all(fwd.map((f) => send(f.udp, traffic, ['--mix', '1:0:0'])));
  const kernelDrops = fwd.reduce((n, f) => n + udpDrops(f.udp), 0);
  const fwdCpu = fwd.reduce((n, f, i) => n + cpuTicks(f.proc.pid!) - fcpu0[i]!, 0) / TICK;
  const fwdRss = Math.max(...fwd.map((f) => peakRssMb(f.proc.pid!)));
  for (const f of fwd) {
    const m = await (await fetch(`http://127.0.0.1:${f.web}/metrics`)).text();
    const drops = m
      .split('\n')
      .filter((l) => /^statsd_sepagent_backend_(items_dropped|send_errors)_total/.test(l) && !l.endsWith(' 0'));
    if (drops.length > 0) console.log(`  forwarder: ${drops.join('; ')}`);
  }
  // SIGTERM: each forwarder posts what it still holds, then exits.
  await Promise.all(fwd.map((f) => new Promise((r) => (f.proc.once('exit', r), f.proc.kill('SIGTERM')))));
  // What arrived last reaches the exposition at the aggregator's next flush: read until two
  // flushes have passed with the sum unchanged.
  let delivered = -1;
  for (let stable = 0; stable < 3;) {
    await sleep(1000);
    const now = counterSum(await (await fetch(`http://127.0.0.1:${aggWeb}/metrics`)).text());
    stable = now === delivered ? stable + 1 : 0;
    delivered = now;
  }
  const aggCpu = (cpuTicks(agg.pid!) - cpu0) / TICK;
  const aggMetrics = await (await fetch(`http://127.0.0.1:${aggWeb}/metrics`)).text();
  const notable = aggMetrics
    .split('\n')
    .filter(
      (l) =>
        /^statsd_sepagent_(http_ingest_requests_total|backend_items_dropped_total|series_dropped_total|forwarded_series_rejected_total)/.test(
          l,
        ) && !l.endsWith(' 0'),
    );
  if (notable.length > 0) console.log(`  aggregator: ${notable.join('; ')}`);
  const aggRss = peakRssMb(agg.pid!);
  agg.kill('SIGKILL');
  const sentLines = sent.reduce((n, s) => n + s.counters, 0);
  return {
    rate,
    sent: sentLines,
    delivered,
    lossPct: (100 * (sentLines - delivered)) / sentLines,
    kernelDrops,
    aggCpuPerM: (aggCpu / delivered) * 1e6,
    fwdCpuPerM: (fwdCpu / sentLines) * 1e6,
    aggRss,
    fwdRss,
  };
}

compileTools();
await withSysctls(RCVBUF, async () => {
  console.log(
    `${FORWARDERS} forwarders → 1 aggregator, ${values.series} counter series each, ${values.lines} lines/datagram, ${values.duration} s per rate`,
  );
  console.log(
    'rate (lines/s) | sent | delivered | loss % | kernel drops | aggregator CPU s/M lines | forwarders CPU s/M lines | aggregator peak RSS MB | forwarder peak RSS MB',
  );
  for (const rate of values.rates.split(',').map(Number)) {
    const r = await run(rate);
    console.log(
      [
        r.rate,
        r.sent,
        r.delivered,
        r.lossPct.toFixed(3),
        r.kernelDrops,
        r.aggCpuPerM.toFixed(2),
        r.fwdCpuPerM.toFixed(2),
        r.aggRss.toFixed(0),
        r.fwdRss.toFixed(0),
      ].join(' | '),
    );
  }
});
