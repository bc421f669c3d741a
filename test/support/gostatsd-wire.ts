import net from 'node:net';
import { deflateSync } from 'node:zlib';
import { HttpReceiver } from '../../src/receivers/http/http-receiver.js';
import { HTTP_KEYS } from '../../src/receivers/http/index.js';
import { Checker } from '../../src/shared/check.js';
import { KeyReader } from '../../src/shared/config-key.js';
import { validateHttpServers, type HttpServerConfig } from '../../src/receivers/http/config.js';
import { silentLogger } from '../../src/shared/logger.js';
import { encodeRawMessage, type RawMessage, type TagMaps } from '../../src/wire/gostatsd.js';
import { makePipeline } from './pipeline.js';

/** A protobuf varint, for bodies built by hand from the wire format. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited field: its key byte (`tag`), its length and `body`. */
export const protoField = (tag: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([tag]), varint(body.length), body]);

/**
 * A deflated `RawMessageV2` built by hand with one series named `t` (no tags) of map field
 * `kind` (3 sets, 4 timers) whose leaf message is `leaf`: for bodies a protobuf encoder
 * would take too long to make (millions of values).
 */
export function oneSeries(kind: 3 | 4, leaf: Buffer): Buffer {
  const tagEntry = Buffer.concat([protoField(0x0a, Buffer.alloc(0)), protoField(0x12, leaf)]);
  const entry = Buffer.concat([protoField(0x0a, Buffer.from('t')), protoField(0x12, protoField(0x0a, tagEntry))]);
  return deflateSync(protoField((kind << 3) | 2, entry), { level: 9 });
}

/** One raw series for {@link rawMessage}: name, tags, host and the kind's value. */
export interface RawRow {
  name: string;
  tags?: string[];
  host?: string;
}

function tagMaps<T>(rows: Array<RawRow & { raw: Omit<T, 'Tags' | 'Hostname'> }>): TagMaps<T> {
  const out = Object.create(null) as TagMaps<T>;
  for (const r of rows) {
    const tags = [...(r.tags ?? [])].sort();
    const host = r.host ?? '';
    const key = host === '' ? tags.join(',') : `${tags.join(',')},s:${host}`;
    const byTags = (out[r.name] ??= { TagMap: Object.create(null) as Record<string, T> });
    byTags.TagMap[key] = { Tags: tags, Hostname: host, ...r.raw } as T;
  }
  return out;
}

/** A `RawMessageV2` from rows per kind, as a gostatsd forwarder builds it. */
export function rawMessage(m: {
  counters?: Array<RawRow & { value: number }>;
  gauges?: Array<RawRow & { value: number }>;
  timers?: Array<RawRow & { values: number[]; sampleCount?: number }>;
  sets?: Array<RawRow & { values: string[] }>;
}): RawMessage {
  return {
    Counters: tagMaps((m.counters ?? []).map((r) => ({ ...r, raw: { Value: r.value } }))),
    Gauges: tagMaps((m.gauges ?? []).map((r) => ({ ...r, raw: { Value: r.value } }))),
    Timers: tagMaps(
      (m.timers ?? []).map((r) => ({ ...r, raw: { Values: r.values, SampleCount: r.sampleCount ?? r.values.length } })),
    ),
    Sets: tagMaps((m.sets ?? []).map((r) => ({ ...r, raw: { Values: r.values } }))),
  };
}

/** The body of a `/v2/raw` POST: protobuf, deflated (a zlib stream) unless `identity`. */
export function rawBody(m: RawMessage, encoding: 'deflate' | 'identity' = 'deflate'): Buffer {
  const pb = Buffer.from(encodeRawMessage(m));
  return encoding === 'deflate' ? deflateSync(pb) : pb;
}

/** POSTs to `http://127.0.0.1:<port><path>` and returns the status and body. */
export async function post(
  port: number,
  path: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body, headers });
  return { status: res.status, body: await res.text() };
}

/**
 * Sends `head` (request line and headers, CRLF-separated, without the blank line) and
 * `body` over a raw socket and resolves with the status line of the answer, or `closed`
 * if the server closed without one. The socket stays open after `body` (a stalled upload)
 * until the server answers or closes.
 */
export function rawRequest(port: number, head: string, body: Buffer | string = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      const eol = got.indexOf('\r\n');
      if (eol >= 0) {
        s.destroy();
        resolve(got.slice(0, eol));
      }
    });
    s.on('error', (err) => (got === '' ? resolve('closed') : reject(err)));
    s.on('close', () => resolve(got === '' ? 'closed' : got.split('\r\n')[0]!));
    s.write(head + '\r\n\r\n');
    if (body.length > 0) s.write(body);
  });
}

/** An `[http.main]` ingestion server feeding a pipeline of its own (manual clock). */
export interface Ingestion {
  p: ReturnType<typeof makePipeline>;
  receiver: HttpReceiver;
  port: number;
}

/**
 * Starts the http receiver with ingestion on 127.0.0.1 (port 0 unless `server.address`
 * says otherwise) in front of a fresh pipeline, or of `p` when given (a restart).
 */
export async function startIngestion(
  server: Partial<HttpServerConfig> = {},
  tags: Parameters<typeof makePipeline>[1] = {},
  p = makePipeline({ percentThresholds: [90] }, tags),
): Promise<Ingestion> {
  const doc = { 'http-servers': 'main', http: { main: { 'enable-ingestion': true } } };
  const config = validateHttpServers(new KeyReader(new Checker(), doc, HTTP_KEYS))!;
  config.servers[0] = { ...config.servers[0]!, address: '127.0.0.1:0', ...server };
  const receiver = new HttpReceiver(config, { sink: p.ingester, stats: p.stats, logger: silentLogger, clock: p.clock });
  await receiver.start();
  return { p, receiver, port: receiver.address().port };
}
