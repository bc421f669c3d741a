// The side-by-side benchmark's result types and its throughput plot: an SVG bar chart
// (log scale) of the median highest lossless rate per point for every daemon, written
// from the results JSON.
//
//   npm run bench:plot -- bench/out/results-<time>.json [out.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Sent } from './lib.js';

/**
 * ours: statsd-sepagent; ours-stdout / ours-prom: the same with a second backend (stdout to
 * /dev/null, the Prometheus exposition); go1 / go: the Go reference at max-workers 1 / its
 * default; etsy: Etsy's statsd.
 */
export type DaemonName =
  | 'ours'
  | 'ours-w2'
  | 'ours-stdout'
  | 'ours-prom'
  | 'ours-ft'
  | 'ours-ft-stdout'
  | 'ours-ft-prom'
  | 'ours-3'
  | 'ours-ft-3'
  | 'go1'
  | 'go'
  | 'etsy';

export const DAEMON_LABELS: Record<DaemonName, string> = {
  ours: 'statsd-sepagent',
  'ours-w2': 'statsd-sepagent, 2 ingest workers',
  'ours-stdout': 'statsd-sepagent, sepagent + stdout',
  'ours-prom': 'statsd-sepagent, sepagent + prometheus',
  'ours-ft': 'statsd-sepagent, flush-thread',
  'ours-ft-stdout': 'statsd-sepagent, flush-thread, sepagent + stdout',
  'ours-ft-prom': 'statsd-sepagent, flush-thread, sepagent + prometheus',
  'ours-3': 'statsd-sepagent, sepagent + stdout + prometheus',
  'ours-ft-3': 'statsd-sepagent, flush-thread, sepagent + stdout + prometheus',
  go1: 'gostatsd-sepagent, max-workers 1',
  go: 'gostatsd-sepagent, default (2 workers)',
  etsy: "Etsy's statsd",
};
const COLOURS: Record<DaemonName, string> = {
  ours: '#1b7837',
  'ours-w2': '#00441b',
  'ours-stdout': '#5aae61',
  'ours-prom': '#a6dba0',
  'ours-ft': '#762a83',
  'ours-ft-stdout': '#9970ab',
  'ours-ft-prom': '#c2a5cf',
  'ours-3': '#d9f0d3',
  'ours-ft-3': '#e7d4e8',
  go1: '#2166ac',
  go: '#67a9cf',
  etsy: '#b2182b',
};

export interface Trial {
  target: number;
  sent: Sent;
  counted: number;
  loss: number;
  kernelDrops: number;
  /** Datagrams the counting sink's socket dropped (must be 0 for a valid trial). */
  sinkDrops: number;
  cpuPct: number;
  /** CPU seconds the daemon used per million lines sent. */
  cpuSecPerMLines: number;
  peakRssMb: number;
  /** Mean flush duration; NaN where the daemon does not report it. */
  flushMs: number;
  /** Longest event-loop block in any flush interval of the trial (Node daemons). */
  eldMaxMs: number;
  /** Highest per-interval p99 event-loop delay of the trial (each interval holds one flush). */
  eldP99Ms: number;
  /** p99 event-loop delay over the whole trial (every flush in it). */
  eldTrialP99Ms: number;
  /** Per thread name: share of a core on a CPU and waiting in the run queue, per second of the trial. */
  threads?: Record<string, { run: number; wait: number }>;
  pass: boolean;
}

export interface BenchResults {
  machine: string;
  daemons: Partial<Record<DaemonName, string>>;
  duration: number;
  flushIntervalS: number;
  repeats: number;
  cpuRate: number;
  /** Per point (`<lines per datagram>x<series>`), per daemon: the best lossless trial of each repeat. */
  results: Record<string, Partial<Record<DaemonName, Trial[]>>>;
  /** Per point, per daemon: the trial at the fixed `cpuRate` of each repeat. */
  fixedRate: Record<string, Partial<Record<DaemonName, Trial[]>>>;
}

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const esc = (t: string) => t.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const short = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M` : `${Math.round(n / 1e3)}k`);

/** A grouped bar chart of the median lossless line rate, one group per point, log scale. */
export function throughputSvg(r: BenchResults): string {
  const points = Object.keys(r.results);
  const daemons = (Object.keys(DAEMON_LABELS) as DaemonName[]).filter((d) =>
    points.some((p) => (r.results[p]?.[d]?.length ?? 0) > 0),
  );
  const W = 760;
  const H = 445;
  const left = 70;
  const top = 40;
  const plotH = 280;
  const plotW = W - left - 20;
  const lo = 1e4;
  const hi = 1e7;
  const y = (v: number) => top + plotH - ((Math.log10(Math.max(v, lo)) - 4) / (Math.log10(hi) - 4)) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Highest line rate with &lt; 0.1 % loss (median of ${r.repeats}; log scale)</text>`,
  );
  for (let e = 4; e <= 7; e++) {
    const v = 10 ** e;
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${short(v)}/s</text>`,
    );
  }
  const groupW = plotW / Math.max(points.length, 1);
  const barW = Math.min(40, (groupW - 20) / Math.max(daemons.length, 1));
  points.forEach((p, i) => {
    const x0 = left + i * groupW + (groupW - barW * daemons.length) / 2;
    daemons.forEach((d, j) => {
      const v = median((r.results[p]?.[d] ?? []).map((t) => t.sent.lineRate));
      const x = x0 + j * barW;
      if (!Number.isFinite(v)) {
        out.push(`<text x="${x + barW / 2}" y="${top + plotH - 4}" text-anchor="middle" fill="#999">n/a</text>`);
        return;
      }
      out.push(
        `<rect x="${x}" y="${y(v)}" width="${barW - 2}" height="${top + plotH - y(v)}" fill="${COLOURS[d]}"/>`,
        `<text x="${x + barW / 2 - 1}" y="${y(v) - 3}" text-anchor="middle" font-size="10">${short(v)}</text>`,
      );
    });
    const [lpd, series] = p.split('x');
    out.push(
      `<text x="${left + i * groupW + groupW / 2}" y="${top + plotH + 18}" text-anchor="middle">${lpd} line${lpd === '1' ? '' : 's'}/datagram</text>`,
      `<text x="${left + i * groupW + groupW / 2}" y="${top + plotH + 33}" text-anchor="middle">${Number(series).toLocaleString('en')} series</text>`,
    );
  });
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
  daemons.forEach((d, j) => {
    const x = left;
    const ly = top + plotH + 55 + j * 17;
    out.push(
      `<rect x="${x}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[d]}"/>`,
      `<text x="${x + 18}" y="${ly}">${esc(r.daemons[d] ?? DAEMON_LABELS[d])}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [input, output] = process.argv.slice(2);
  if (input === undefined) throw new Error('usage: npm run bench:plot -- <results.json> [out.svg]');
  const file = output ?? input.replace(/\.json$/, '') + '.svg';
  writeFileSync(file, throughputSvg(JSON.parse(readFileSync(input, 'utf8')) as BenchResults));
  console.log(`wrote ${file}`);
}
