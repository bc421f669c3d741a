import { createSocket } from 'node:dgram';
import { createWriteStream, readFileSync } from 'node:fs';
import { request } from 'undici';
import { parseHostPort } from '../shared/address.js';
import { systemClock } from '../shared/clock.js';
import { DaemonError, errorMessage } from '../shared/errors.js';
import type { CliIo } from './io.js';

/** The daemon's admin server (`web-addr`, `host:port`) as a base URL; an empty host is 127.0.0.1. */
function baseUrl(webAddr: string): string {
  const hp = parseHostPort(webAddr);
  if (typeof hp === 'string') throw new DaemonError('ERR_INPUT', `--web-addr: ${hp}`);
  const host = hp.host === '' ? '127.0.0.1' : hp.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${hp.port}`;
}

/** What `tap` and `capture` ask `/debug/tap` for. */
export interface TapOptions {
  webAddr: string;
  kinds: string;
  match: string | undefined;
  count: number;
  duration: string;
}

/** Streams `/debug/tap`, handing each record to `onRecord`; resolves with an exit code. */
async function streamTap(
  o: TapOptions,
  io: CliIo,
  what: string,
  onRecord: (line: string, record: Record<string, unknown>) => void,
): Promise<number> {
  const q = new URLSearchParams({ kind: o.kinds, count: String(o.count), duration: o.duration });
  if (o.match !== undefined) q.set('match', o.match);
  let res;
  try {
    res = await request(`${baseUrl(o.webAddr)}/debug/tap?${q.toString()}`);
  } catch (err) {
    io.stderr.write(`statsd-sepagent ${what}: cannot reach the daemon at ${o.webAddr}: ${errorMessage(err)}\n`);
    return 1;
  }
  if (res.statusCode !== 200) {
    io.stderr.write(
      `statsd-sepagent ${what}: the daemon answered ${res.statusCode}: ${(await res.body.text()).trim()}\n`,
    );
    return 1;
  }
  io.stderr.write(`${what}: open on ${o.webAddr} (${o.kinds}; up to ${o.count} records or ${o.duration})\n`);
  let rest = '';
  for await (const chunk of res.body) {
    rest += (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.trim() === '') continue; // keep-alive
      onRecord(line, JSON.parse(line) as Record<string, unknown>);
    }
  }
  return 0;
}

/** `statsd-sepagent tap`: prints what the daemon receives, rejects or leaves out, live. */
export function tapCommand(o: TapOptions & { json: boolean }, io: CliIo): Promise<number> {
  return streamTap(o, io, 'tap', (line, r) => {
    if (o.json) return void io.stdout.write(line + '\n');
    const t = new Date(Number(r['t'])).toISOString().slice(11, 23);
    switch (r['kind']) {
      case 'received':
        io.stdout.write(`${t} received  ${String(r['transport'])} ${String(r['source'])}  ${String(r['line'])}\n`);
        break;
      case 'rejected':
        io.stdout.write(`${t} rejected  ${String(r['reason'])} at byte ${String(r['at'])}  ${String(r['line'])}\n`);
        break;
      case 'unmatched':
        io.stdout.write(`${t} unmatched ${String(r['backend'])} ${String(r['reason'])}  ${String(r['name'])}\n`);
        break;
      default:
        io.stdout.write(`${t} ${line}\n`);
    }
  });
}

/**
 * `statsd-sepagent capture`: writes the datagrams the daemon receives, with their receive
 * times, to a file (one JSON object per line: `t` ms since the epoch, `transport`,
 * `source`, `data` base64), for `replay`.
 */
export async function captureCommand(
  o: Omit<TapOptions, 'kinds' | 'match'> & { out: string },
  io: CliIo,
): Promise<number> {
  const file = createWriteStream(o.out);
  let n = 0;
  const code = await streamTap({ ...o, kinds: 'datagram', match: undefined }, io, 'capture', (line) => {
    file.write(line + '\n');
    n++;
  });
  await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
  if (code === 0) io.stderr.write(`captured ${n} datagram${n === 1 ? '' : 's'} to ${o.out}\n`);
  return code;
}

/** One datagram of a capture file. */
interface Captured {
  readonly t: number;
  readonly data: Buffer;
}

/** Reads a capture file; names the line of a bad record. */
export function readCapture(path: string): Captured[] | string {
  const out: Captured[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '') continue;
    let r: unknown;
    try {
      r = JSON.parse(text);
    } catch {
      return `${path}:${i + 1}: not JSON`;
    }
    const rec = r as { kind?: unknown; t?: unknown; data?: unknown };
    if (rec.kind !== 'datagram' || typeof rec.t !== 'number' || typeof rec.data !== 'string')
      return `${path}:${i + 1}: not a captured datagram (kind "datagram" with t and data)`;
    out.push({ t: rec.t, data: Buffer.from(rec.data, 'base64') });
  }
  return out;
}

/**
 * `statsd-sepagent replay`: sends a capture's datagrams over UDP to `to`, keeping their
 * spacing divided by `speed` (0: as fast as the socket takes them).
 */
export async function replayCommand(o: { file: string; to: string; speed: number }, io: CliIo): Promise<number> {
  const target = parseHostPort(o.to);
  if (typeof target === 'string') {
    io.stderr.write(`statsd-sepagent replay: --to: ${target}\n`);
    return 2;
  }
  if (!(o.speed >= 0)) {
    io.stderr.write('statsd-sepagent replay: --speed must be 0 (no waiting) or more\n');
    return 2;
  }
  let captured: Captured[] | string;
  try {
    captured = readCapture(o.file);
  } catch (err) {
    io.stderr.write(`statsd-sepagent replay: cannot read ${o.file}: ${errorMessage(err)}\n`);
    return 1;
  }
  if (typeof captured === 'string') {
    io.stderr.write(`statsd-sepagent replay: ${captured}\n`);
    return 1;
  }
  const socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
  const started = systemClock.monotonicMs();
  const first = captured[0]?.t ?? 0;
  try {
    for (const c of captured) {
      if (o.speed > 0) {
        const due = started + (c.t - first) / o.speed - systemClock.monotonicMs();
        if (due > 0) await new Promise<void>((resolve) => systemClock.after(due, resolve));
      }
      await new Promise<void>((resolve, reject) =>
        socket.send(c.data, target.port, target.host, (err) => (err ? reject(err) : resolve())),
      );
    }
  } catch (err) {
    io.stderr.write(`statsd-sepagent replay: send to ${o.to} failed: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    socket.close();
  }
  io.stderr.write(`replayed ${captured.length} datagram${captured.length === 1 ? '' : 's'} to ${o.to}\n`);
  return 0;
}

interface Report {
  windowSeconds: number;
  sampleEvery: number;
  bySamples: Array<{ key: string; count: number; error: number }>;
  bySeries: Array<{ key: string; count: number; tagKeys: Array<{ key: string; values: number }> }>;
  byCapped: Array<{ key: string; count: number }>;
  series: { live: number; max: number; dropped: number };
}

/** `statsd-sepagent top`: the metric names with the most samples and series, from `/debug/metrics`. */
export async function topCommand(o: { webAddr: string; limit: number; json: boolean }, io: CliIo): Promise<number> {
  let body: string;
  try {
    const res = await request(`${baseUrl(o.webAddr)}/debug/metrics?limit=${o.limit}`);
    body = await res.body.text();
    if (res.statusCode !== 200) {
      io.stderr.write(`statsd-sepagent top: the daemon answered ${res.statusCode}: ${body.trim()}\n`);
      return 1;
    }
  } catch (err) {
    io.stderr.write(`statsd-sepagent top: cannot reach the daemon at ${o.webAddr}: ${errorMessage(err)}\n`);
    return 1;
  }
  if (o.json) return (void io.stdout.write(body), 0);
  const r = JSON.parse(body) as Report;
  const out = [
    `live series ${r.series.live} of max-series ${r.series.max}; ${r.series.dropped} samples refused at the cap`,
    `over the last ${Math.round(r.windowSeconds)} s (samples of known series counted 1 in ${r.sampleEvery}):`,
    '',
    'MOST SAMPLES',
    ...r.bySamples.map((c) => `  ${String(Math.round(c.count)).padStart(12)}  ${c.key}`),
    '',
    'MOST NEW SERIES (tag keys by distinct values)',
    ...r.bySeries.map(
      (c) => `  ${String(c.count).padStart(12)}  ${c.key}  ${c.tagKeys.map((k) => `${k.key}=${k.values}`).join(' ')}`,
    ),
  ];
  if (r.byCapped.length > 0)
    out.push(
      '',
      'MOST SAMPLES REFUSED AT MAX-SERIES',
      ...r.byCapped.map((c) => `  ${String(c.count).padStart(12)}  ${c.key}`),
    );
  io.stdout.write(out.join('\n') + '\n');
  return 0;
}
