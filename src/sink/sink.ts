import dgram from 'node:dgram';
import { errorMessage } from '../shared/errors.js';

/** Settings of {@link runSink}. */
export interface SinkOptions {
  host: string;
  port: number;
  /** `pretty`: a readable summary per document; `json`: each datagram verbatim. */
  format: 'pretty' | 'json';
  out: NodeJS.WritableStream;
}

interface Item {
  instanceId?: unknown;
  cluster?: unknown;
  metricType?: unknown;
  aggregationType?: unknown;
  statistics?: unknown;
  value?: unknown;
  unixTimestamp?: unknown;
}

/** Renders one received datagram for humans. */
export function renderDocument(payload: Buffer, from: string, format: 'pretty' | 'json'): string {
  const text = payload.toString('utf8');
  if (format === 'json') return text + '\n';
  let doc: { sep?: unknown; metrics?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (err) {
    return `!! ${payload.length} bytes from ${from} are not JSON (${errorMessage(err)}): ${text.slice(0, 200)}\n`;
  }
  const items = Array.isArray(doc.metrics) ? (doc.metrics as Item[]) : [];
  const ts = items[0]?.unixTimestamp;
  const when = typeof ts === 'number' ? new Date(ts * 1000).toISOString() : '?';
  const lines = [
    `sep ${JSON.stringify(doc.sep)}  ${items.length} items, ${payload.length} bytes from ${from}, unixTimestamp ${String(ts)} (${when})`,
  ];
  const rows = items.map((i) => [
    String(i.metricType),
    String(i.statistics),
    String(i.aggregationType),
    String(i.value),
  ]);
  const w = [0, 1, 2].map((c) => Math.max(0, ...rows.map((r) => r[c]!.length)));
  for (const r of rows)
    lines.push(`  ${r[0]!.padEnd(w[0]!)}  ${r[1]!.padEnd(w[1]!)}  ${r[2]!.padEnd(w[2]!)} = ${r[3]}`);
  return lines.join('\n') + '\n';
}

/**
 * Listens like SepAgent and prints every document received. Resolves with the bound
 * port once listening; the returned `close` stops it.
 */
export async function runSink(opts: SinkOptions): Promise<{ port: number; close: () => Promise<void> }> {
  const socket = dgram.createSocket(opts.host.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (msg, rinfo) => {
    opts.out.write(renderDocument(msg, `${rinfo.address}:${rinfo.port}`, opts.format));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(opts.port, opts.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => opts.out.write(`!! socket error: ${errorMessage(err)}\n`));
  return {
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
