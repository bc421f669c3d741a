import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import { errorMessage } from '../../shared/errors.js';
import { RoutedHttpServer, textHandler } from '../../shared/http-server.js';
import type { BoundAddress } from '../../shared/listen.js';
import { RateLimitedLog } from '../../shared/logger.js';
import { runChunked } from '../../shared/cooperative.js';
import { decodeEventMessage, decodeRawMessageParts, loadWireTypes, messageToEvent } from '../../wire/gostatsd.js';
import { normaliseSourceAddress, type HttpIngestResult, type Receiver, type ReceiverDeps } from '../receiver.js';
import type { HttpReceiverConfig, HttpServerConfig } from './config.js';

const require = createRequire(import.meta.url);

/** What the handler answers for each way a request can fail. */
const REJECTIONS: Record<Exclude<HttpIngestResult, 'accepted'>, { status: number; message: string }> = {
  too_large: { status: 413, message: 'request body too large' },
  timeout: { status: 408, message: 'request body not received in time' },
  bad_encoding: { status: 400, message: 'unsupported Content-Encoding (use deflate or identity)' },
  bad_deflate: { status: 400, message: 'body is not a zlib (deflate) stream' },
  bad_protobuf: { status: 400, message: 'body is not a valid protobuf message' },
  read_error: { status: 500, message: 'failed to read the request body' },
  busy: { status: 503, message: 'too many request bodies in flight; try again' },
};

/** Bytes the requests in flight of one server may hold at once (`max-buffered-size`). */
class Budget {
  #used = 0;
  constructor(readonly limit: number) {}
  left(): number {
    return this.limit - this.#used;
  }
  /** Takes `n` bytes if they fit. */
  take(n: number): boolean {
    if (this.#used + n > this.limit) return false;
    this.#used += n;
    return true;
  }
  release(n: number): void {
    this.#used -= n;
  }
}

type Decoded =
  { ok: true; body: Buffer } | { ok: false; result: Exclude<HttpIngestResult, 'accepted'>; detail: string };

/**
 * HttpReceiver runs the `[http.<name>]` servers of `http-servers`: gostatsd's health
 * paths, `/expvar`, and its ingestion endpoints `POST /v2/raw` (a `RawMessageV2`: a
 * forwarded interval, merged into aggregation) and `POST /v2/event` (an `EventV2`).
 *
 * A body may be a zlib stream (`Content-Encoding: deflate`) or raw (`identity` or no
 * header); anything else is 400 before the body is read. A body declared or sent over
 * `max-body-size`, or inflating past `max-message-size`, is 413 and is not read further;
 * one not complete within `read-timeout` is 408; bytes that are not the path's message
 * are 400, and nothing of them is merged. Success is 202 with an empty body. Every
 * request is counted by result (`statsd_sepagent_http_ingest_requests_total`).
 */
export class HttpReceiver implements Receiver {
  readonly #config: HttpReceiverConfig;
  readonly #deps: ReceiverDeps;
  readonly #servers: RoutedHttpServer[] = [];
  readonly #rejections: RateLimitedLog;
  readonly #budgets = new Map<string, Budget>();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(config: HttpReceiverConfig, deps: ReceiverDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#rejections = new RateLimitedLog(60_000, () => deps.clock.now());
    for (const s of config.servers) {
      this.#budgets.set(s.name, new Budget(s.maxBufferedBytes));
      this.#servers.push(this.#build(s));
    }
  }

  #build(s: HttpServerConfig): RoutedHttpServer {
    const owner = `http.${s.name}`;
    const server = new RoutedHttpServer({
      address: s.address,
      key: `http.${s.name}.address`,
      what: `http server ${s.name}`,
      // A backstop behind the receiver's own body deadline, which answers 408 itself.
      requestTimeoutMs: s.readTimeoutMs + 5_000,
      logger: this.#deps.logger,
      closed: this.#deps.stats.connectionsClosed(owner),
    });
    const get = ['GET', 'HEAD'];
    if (s.healthcheck) {
      server.register({ owner, path: '/healthcheck', methods: get, handler: textHandler(200, 'OK') });
      server.register({ owner, path: '/deepcheck', methods: get, handler: textHandler(200, 'OK') });
    }
    if (s.expvar) {
      server.register({
        owner,
        path: '/expvar',
        methods: get,
        handler: (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.end(
            JSON.stringify({ cmdline: process.argv, memstats: process.memoryUsage(), uptime: process.uptime() }) + '\n',
          );
        },
      });
    }
    if (s.ingestion) {
      for (const path of ['/v2/raw', '/v2/event'] as const) {
        server.register({
          owner,
          path,
          methods: ['POST'],
          acceptsBody: true,
          handler: (req, res) => this.#ingest(s, path, req, res),
        });
      }
    }
    return server;
  }

  async #ingest(s: HttpServerConfig, path: '/v2/raw' | '/v2/event', req: IncomingMessage, res: ServerResponse) {
    const done = this.#ingestOne(s, path, req, res);
    this.#inFlight.add(done);
    try {
      await done;
    } finally {
      this.#inFlight.delete(done);
    }
  }

  async #ingestOne(s: HttpServerConfig, path: '/v2/raw' | '/v2/event', req: IncomingMessage, res: ServerResponse) {
    const source = normaliseSourceAddress(req.socket.remoteAddress ?? '');
    const budget = this.#budgets.get(s.name)!;
    const held = { bytes: 0 };
    try {
      const decoded = await this.#body(s, req, budget, held);
      if (!decoded.ok) return this.#reject(s, path, source, res, decoded.result, decoded.detail);
      const sink = this.#deps.sink;
      const stats = this.#deps.stats;
      try {
        if (path === '/v2/raw') {
          await runChunked(
            decodeRawMessageParts(
              decoded.body,
              s.limits,
              (reason) => stats.forwardedRejected[reason]++,
              (m) => sink.ingestForwarded(m),
            ),
          );
        } else {
          const m = decodeEventMessage(decoded.body);
          sink.ingestEvent(messageToEvent(m), m.SourceIP !== '' ? m.SourceIP : source);
        }
      } catch (err) {
        return this.#reject(s, path, source, res, 'bad_protobuf', errorMessage(err));
      }
      stats.httpIngest(s.name).accepted++;
      res.writeHead(202);
      res.end();
    } finally {
      budget.release(held.bytes);
    }
  }

  /** Counts a rejected request, logs it (once a minute per server and reason) and answers it. */
  #reject(
    s: HttpServerConfig,
    path: string,
    source: string,
    res: ServerResponse,
    result: Exclude<HttpIngestResult, 'accepted'>,
    detail: string,
  ): void {
    this.#deps.stats.httpIngest(s.name)[result]++;
    this.#rejections.maybe(`${s.name} ${result}`, (suppressed) =>
      this.#deps.logger.warn(
        { server: s.name, path, source, result, detail, suppressed },
        'rejected an http ingestion request',
      ),
    );
    if (res.destroyed) return;
    const r = REJECTIONS[result];
    // The rest of the body, if any, is not read: the connection closes after the answer.
    res.writeHead(r.status, {
      'content-type': 'text/plain; charset=utf-8',
      connection: 'close',
      ...(result === 'busy' ? { 'retry-after': '1' } : {}),
    });
    res.end(r.message + '\n');
  }

  /**
   * Reads and inflates the body within the server's limits and its budget for bytes held
   * by requests in flight: what this request holds is added to `held` (the caller gives it
   * back when the request ends, however it ends). Past the budget the request is `busy`.
   */
  async #body(s: HttpServerConfig, req: IncomingMessage, budget: Budget, held: { bytes: number }): Promise<Decoded> {
    const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'identity' && encoding !== 'deflate')
      return { ok: false, result: 'bad_encoding', detail: `Content-Encoding: ${encoding.slice(0, 40)}` };
    const raw = await readBody(req, s.maxBodyBytes, this.#deps.clock.timeout(s.readTimeoutMs), (n) => {
      if (!budget.take(n)) return false;
      held.bytes += n;
      return true;
    });
    if (!raw.ok || encoding !== 'deflate') return raw;
    // The inflated message may take what is left of the budget, up to max-message-size
    // and to the most deflate can make of the body (1032:1).
    const most = raw.body.length * 1032 + 1024;
    const room = Math.min(s.maxMessageBytes, budget.left(), most);
    if (room < raw.body.length) return { ok: false, result: 'busy', detail: 'no room left to inflate the body' };
    budget.take(room);
    held.bytes += room;
    const out = await inflateInto(raw.body, room);
    if (!('code' in out)) {
      // Hold only what the message takes.
      budget.release(room - out.length);
      held.bytes -= room - out.length;
      return { ok: true, body: out };
    }
    if (out.code !== 'too_large') return { ok: false, result: 'bad_deflate', detail: out.message };
    if (room === s.maxMessageBytes)
      return { ok: false, result: 'too_large', detail: `inflates past ${s.maxMessageBytes} bytes` };
    if (room === most) return { ok: false, result: 'bad_deflate', detail: 'inflates past what deflate can make' };
    return { ok: false, result: 'busy', detail: `inflates past the ${room} bytes left of the budget` };
  }

  async start(): Promise<void> {
    if (this.#config.servers.some((s) => s.ingestion)) loadWireTypes();
    for (const s of this.#servers) await s.start();
  }

  /** The first server's address (every server's: {@link addresses}). */
  address(): BoundAddress {
    return this.#servers[0]?.address() ?? { host: '', port: 0 };
  }

  /** Each server's bound address, by name. */
  addresses(): Record<string, BoundAddress> {
    return Object.fromEntries(this.#config.servers.map((s, i) => [s.name, this.#servers[i]!.address()]));
  }

  /** Stops the servers, then waits for requests still being merged. */
  async shutdown(): Promise<void> {
    for (const s of this.#servers) await s.shutdown();
    await Promise.allSettled([...this.#inFlight]);
  }
}

/**
 * Reads a request body of at most `limit` bytes, each chunk `reserve`d first. Stops
 * reading (without draining) once the declared or received size passes the limit, a
 * reservation fails, `signal` aborts, or the client goes away. The chunks read so far are
 * let go at once.
 */
function readBody(
  req: IncomingMessage,
  limit: number,
  signal: AbortSignal,
  reserve: (bytes: number) => boolean,
): Promise<Decoded> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit)
    return Promise.resolve({ ok: false, result: 'too_large', detail: `Content-Length ${declared} > ${limit}` });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (d: Decoded): void => {
      if (!d.ok) chunks.length = 0;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      signal.removeEventListener('abort', onTimeout);
      if (!d.ok) req.pause();
      resolve(d);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish({ ok: false, result: 'too_large', detail: `body over ${limit} bytes` });
      else if (!reserve(chunk.length))
        finish({ ok: false, result: 'busy', detail: 'the server is buffering its limit' });
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish({ ok: true, body: Buffer.concat(chunks, size) });
    const onError = (err: Error): void => finish({ ok: false, result: 'read_error', detail: err.message });
    const onClose = (): void => finish({ ok: false, result: 'read_error', detail: 'client closed the connection' });
    const onTimeout = (): void => finish({ ok: false, result: 'timeout', detail: `${size} bytes received in time` });
    if (signal.aborted) return onTimeout();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
    signal.addEventListener('abort', onTimeout, { once: true });
  });
}

/** Output chunks of inflation: each is copied into the message as it comes, in its own turn. */
const INFLATE_CHUNK = 256 * 1024;

/**
 * Inflates a zlib stream into one buffer of at most `room` bytes, reserved up front and
 * filled a chunk at a time: concatenating 64 MiB of chunks at the end would touch every
 * new page at once and stall the event loop for hundreds of milliseconds. Pages past the
 * message are never touched, so they take no memory.
 */
function inflateInto(body: Buffer, room: number): Promise<Buffer | { code: 'too_large' | 'bad'; message: string }> {
  const zlib = require('node:zlib') as typeof Zlib;
  return new Promise((resolve) => {
    const out = Buffer.allocUnsafeSlow(room);
    let n = 0;
    const inflate = zlib.createInflate({ chunkSize: INFLATE_CHUNK });
    inflate.on('data', (chunk: Buffer) => {
      if (n + chunk.length > room) {
        inflate.destroy();
        resolve({ code: 'too_large', message: `past ${room} bytes` });
        return;
      }
      chunk.copy(out, n);
      n += chunk.length;
    });
    inflate.on('error', (err) => resolve({ code: 'bad', message: err.message }));
    inflate.on('end', () => resolve(out.subarray(0, n)));
    inflate.end(body);
  });
}
