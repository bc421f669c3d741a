import type * as Http from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import { DaemonError, errorMessage } from './errors.js';
import type { Route } from './http-routes.js';
import type { Lifecycle } from './lifecycle.js';
import { close, listen, type BoundAddress } from './listen.js';
import type { Logger } from './logger.js';

// Loaded with require: an ESM import of node:http builds its whole namespace, which in
// Node 24 also loads tls, http2 and zlib (~4 MB of idle RSS a daemon may never use).
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof Http;

/** A PEM certificate chain and its key, for serving HTTPS. */
export interface ServingCertificate {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Settings of {@link RoutedHttpServer}. */
export interface RoutedHttpServerOptions {
  /** `host:port` to listen on (`:port` = every interface, port 0 = any). */
  address: string;
  /** The config key the address came from, for errors (`web-addr`, `http.main.address`). */
  key: string;
  /** What the server is, for logs (`admin http server`, `http server main`). */
  what: string;
  /** Longest time to receive a whole request, headers and body (default 10 s). */
  requestTimeoutMs?: number;
  /** Serve HTTPS (TLS 1.2 and later) with this certificate instead of plain HTTP. */
  tls?: ServingCertificate;
  logger: Logger;
  /** Where connections the server closes on its own are counted. */
  closed?: ConnectionsClosed;
  /** Other bounds than {@link HTTP_LIMITS} (tests). */
  limits?: Partial<HttpLimits>;
}

/**
 * Bounds on every connection of a {@link RoutedHttpServer}: at most this many open at once
 * (more are closed at once, counted as `limit`); headers within 5 s; an idle kept-alive
 * connection closed after 5 s; a connection on which nothing moves, read or written, for
 * 15 s (a client that stopped reading its answer) closed and counted as `timeout`. The
 * deadlines are checked every second.
 */
export const HTTP_LIMITS = {
  maxConnections: 256,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  inactivityTimeoutMs: 15_000,
  checkIntervalMs: 1_000,
};
export type HttpLimits = typeof HTTP_LIMITS;

/** Connections a listener closed on its own: refused past its cap, or cut by a deadline. */
export interface ConnectionsClosed {
  limit: number;
  timeout: number;
}

/**
 * RoutedHttpServer is an HTTP/1.1 server (HTTPS when given a certificate) serving exact paths from a route table
 * (see {@link Route}): unknown paths get 404, other methods 405 with `Allow`, a request
 * with a body to a route that reads none 413 at once with the connection closed, so the
 * body is never read. A handler that throws answers 500. Timeouts and a header-count
 * limit bound what a slow or hostile client can hold.
 */
export class RoutedHttpServer implements Lifecycle {
  readonly #opts: RoutedHttpServerOptions;
  readonly #routes = new Map<string, Route>();
  #server: Http.Server | undefined;
  #bound: BoundAddress = { host: '', port: 0 };

  constructor(opts: RoutedHttpServerOptions) {
    this.#opts = opts;
  }

  /** Serves `route.path`; throws when another owner serves it. Returns the remover. */
  register(route: Route): () => void {
    const held = this.#routes.get(route.path);
    if (held !== undefined && held.owner !== route.owner)
      throw new DaemonError('ERR_INTERNAL', `http path ${route.path} is already served by ${held.owner}`);
    this.#routes.set(route.path, route);
    return () => {
      if (this.#routes.get(route.path) === route) this.#routes.delete(route.path);
    };
  }

  async start(): Promise<void> {
    const { logger } = this.#opts;
    const onRequest = (req: Http.IncomingMessage, res: Http.ServerResponse): void => {
      this.#handle(req, res).catch((err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    };
    const tls = this.#opts.tls;
    const limits: HttpLimits = { ...HTTP_LIMITS, ...this.#opts.limits };
    // Deadlines are checked every second (Node's default is 30 s, so a 5 s one held 35 s).
    const options = { connectionsCheckingInterval: limits.checkIntervalMs };
    const server =
      tls === undefined
        ? http.createServer(options, onRequest)
        : (require('node:https') as typeof Https).createServer(
            { ...options, ...tls, minVersion: 'TLSv1.2' },
            onRequest,
          );
    server.requestTimeout = this.#opts.requestTimeoutMs ?? 10_000;
    server.headersTimeout = Math.min(limits.headersTimeoutMs, server.requestTimeout);
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    server.maxHeadersCount = 50;
    server.maxConnections = limits.maxConnections;
    const closed = this.#opts.closed;
    server.on('drop', () => {
      if (closed !== undefined) closed.limit++;
    });
    // No progress either way for this long: the client stopped reading (or sending).
    server.setTimeout(limits.inactivityTimeoutMs, (socket) => {
      if (closed !== undefined) closed.timeout++;
      socket.destroy();
    });
    this.#bound = await listen(server, this.#opts.address, this.#opts.key, 'http');
    server.on('error', (err) => logger.error({ err: errorMessage(err) }, `${this.#opts.what} error`));
    this.#server = server;
    logger.info({ address: `${this.#bound.host}:${this.#bound.port}` }, `${this.#opts.what} listening`);
  }

  address(): BoundAddress {
    return this.#bound;
  }

  /** Serves new connections with another certificate (a rotated one); HTTPS servers only. */
  setCertificate(tls: ServingCertificate): void {
    const s = this.#server as Https.Server | undefined;
    if (s === undefined || typeof s.setSecureContext !== 'function')
      throw new DaemonError('ERR_STATE', `${this.#opts.what} is not HTTPS`);
    s.setSecureContext({ ...tls, minVersion: 'TLSv1.2' });
  }

  async #handle(req: Http.IncomingMessage, res: Http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const text = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    const route = this.#routes.get(path);
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    // A body nobody reads is never read: the answer closes the connection.
    if (hasBody && route?.acceptsBody !== true) res.setHeader('connection', 'close');
    if (route === undefined) return text(404, 'not found\n');
    if (!route.methods.includes(req.method ?? '')) {
      res.setHeader('allow', route.methods.join(', '));
      return text(405, 'method not allowed\n');
    }
    if (hasBody && route.acceptsBody !== true) return text(413, 'request bodies are not accepted\n');
    await route.handler(req, res);
  }

  async shutdown(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await close(s);
  }
}

/** A handler answering `status` with a plain-text `body`. */
export function textHandler(
  status: number,
  body: string,
): (req: Http.IncomingMessage, res: Http.ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(body);
  };
}
