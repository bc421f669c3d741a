import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import { errorMessage } from '../../shared/errors.js';
import { RoutedHttpServer, textHandler } from '../../shared/http-server.js';
import type { BoundAddress } from '../../shared/listen.js';
import { RateLimitedLog } from '../../shared/logger.js';
import { decodeEventMessage, decodeRawMessage, messageToEvent } from '../../wire/gostatsd.js';
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
};

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

  constructor(config: HttpReceiverConfig, deps: ReceiverDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#rejections = new RateLimitedLog(60_000, () => deps.clock.now());
    for (const s of config.servers) this.#servers.push(this.#build(s));
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
    const source = normaliseSourceAddress(req.socket.remoteAddress ?? '');
    const decoded = await this.#body(s, req);
    if (!decoded.ok) {
      this.#reject(s, path, source, res, decoded.result, decoded.detail);
      return;
    }
    let message: ReturnType<typeof decodeRawMessage> | ReturnType<typeof decodeEventMessage>;
    try {
      message = path === '/v2/raw' ? decodeRawMessage(decoded.body) : decodeEventMessage(decoded.body);
    } catch (err) {
      this.#reject(s, path, source, res, 'bad_protobuf', errorMessage(err));
      return;
    }
    if (path === '/v2/raw') this.#deps.sink.ingestForwarded(message as ReturnType<typeof decodeRawMessage>);
    else {
      const m = message as ReturnType<typeof decodeEventMessage>;
      this.#deps.sink.ingestEvent(messageToEvent(m), m.SourceIP !== '' ? m.SourceIP : source);
    }
    this.#deps.stats.httpIngest(s.name).accepted++;
    res.writeHead(202);
    res.end();
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
    res.writeHead(r.status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end(r.message + '\n');
  }

  /** Reads and inflates the body within the server's limits. */
  async #body(s: HttpServerConfig, req: IncomingMessage): Promise<Decoded> {
    const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'identity' && encoding !== 'deflate')
      return { ok: false, result: 'bad_encoding', detail: `Content-Encoding: ${encoding.slice(0, 40)}` };
    const raw = await readBody(req, s.maxBodyBytes, this.#deps.clock.timeout(s.readTimeoutMs));
    if (!raw.ok || encoding !== 'deflate') return raw;
    const zlib = require('node:zlib') as typeof Zlib;
    return new Promise((resolve) =>
      zlib.inflate(raw.body, { maxOutputLength: s.maxMessageBytes }, (err, out) => {
        if (err === null) resolve({ ok: true, body: out });
        else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
          resolve({ ok: false, result: 'too_large', detail: `inflates past ${s.maxMessageBytes} bytes` });
        else resolve({ ok: false, result: 'bad_deflate', detail: err.message });
      }),
    );
  }

  async start(): Promise<void> {
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

  async shutdown(): Promise<void> {
    for (const s of this.#servers) await s.shutdown();
  }
}

/**
 * Reads a request body of at most `limit` bytes. Stops reading (without draining) once
 * the declared or received size passes the limit, when `signal` aborts, or when the
 * client goes away.
 */
function readBody(req: IncomingMessage, limit: number, signal: AbortSignal): Promise<Decoded> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit)
    return Promise.resolve({ ok: false, result: 'too_large', detail: `Content-Length ${declared} > ${limit}` });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (d: Decoded): void => {
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
