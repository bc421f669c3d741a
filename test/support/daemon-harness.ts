import { COMPONENTS } from '../../src/daemon/components.js';
import dgram from 'node:dgram';
import { Daemon } from '../../src/daemon/daemon.js';
import { validateConfig } from '../../src/config/validate.js';
import type { Clock } from '../../src/shared/clock.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger, type Logger } from '../../src/shared/logger.js';

/** Builds a validated config from raw keys, on loopback port 0 by default. */
export function testConfig(raw: Record<string, unknown>) {
  const v = validateConfig({ 'metrics-addr': '127.0.0.1:0', 'web-addr': '127.0.0.1:0', ...raw }, COMPONENTS);
  if (v.config === undefined) throw new Error(`bad test config: ${JSON.stringify(v.issues)}`);
  return v.config;
}

/** Starts an in-process daemon on ephemeral loopback ports. */
export async function startDaemon(
  raw: Record<string, unknown>,
  opts: { clock?: Clock; stdout?: NodeJS.WritableStream; logger?: Logger } = {},
): Promise<Daemon> {
  const deps = { logger: opts.logger ?? silentLogger, clock: opts.clock ?? systemClock, version: 'test' };
  const d = new Daemon(testConfig(raw), opts.stdout === undefined ? deps : { ...deps, stdout: opts.stdout });
  await d.start();
  return d;
}

/** Sends each payload as one UDP datagram and waits until all were handed to the kernel. */
export async function sendUdp(port: number, payloads: Array<string | Buffer>, host = '127.0.0.1'): Promise<void> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    for (const p of payloads) {
      await new Promise<void>((resolve, reject) => s.send(p, port, host, (err) => (err ? reject(err) : resolve())));
    }
  } finally {
    s.close();
  }
}

/**
 * GETs a path from the daemon's admin server. A kept-alive connection the server closed
 * as idle just as it was reused is tried once more on a new one, as any idempotent
 * request may be.
 */
export async function httpGet(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const once = async (): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    return { status: res.status, body: await res.text() };
  };
  try {
    return await once();
  } catch (err) {
    if (!/other side closed|ECONNRESET/.test(String((err as { cause?: unknown }).cause))) throw err;
    return once();
  }
}

/** Reads one sample value from Prometheus text, or undefined. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** The stdout backend's metric lines without the time-dependent parts (rates, timestamps), sorted. */
export function stableStdout(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('stats.') && !/\.(per_second|count_ps) /.test(l))
    .map((l) => l.slice(0, l.lastIndexOf(' ')))
    .sort();
}
