import type * as Http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Lifecycle } from '../shared/lifecycle.js';
import { parseHostPort } from '../shared/address.js';
import { DaemonError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

// Loaded with require: an ESM import of node:http builds its whole namespace, which in
// Node 24 also loads tls, http2 and zlib (~4 MB of idle RSS the admin server never uses).
const http = createRequire(import.meta.url)('node:http') as typeof Http;

/** Dependencies of {@link AdminHttpServer}. */
export interface AdminHttpServerDeps {
  registry: Registry;
  logger: Logger;
  /** Whether the daemon is ready to receive (listeners bound, backends started). */
  ready: () => boolean;
}

/**
 * AdminHttpServer serves `/metrics` (Prometheus text), `/healthcheck` and `/deepcheck`
 * (gostatsd's names, body `OK`), `/healthz` (alive) and `/readyz` (503 until ready).
 * It reads no request bodies (a request with one gets 405 or 413 and the connection is
 * closed); anything else is 404, other methods 405. Timeouts and a header-count limit
 * bound what a slow or hostile client can hold.
 */
export class AdminHttpServer implements Lifecycle {
  readonly #address: string;
  readonly #deps: AdminHttpServerDeps;
  #server: Http.Server | undefined;
  #bound = { host: '', port: 0 };

  constructor(address: string, deps: AdminHttpServerDeps) {
    this.#address = address;
    this.#deps = deps;
  }

  async start(): Promise<void> {
    const hp = parseHostPort(this.#address);
    if (typeof hp === 'string') throw new DaemonError('ERR_LISTEN', `web-addr: ${hp}`);
    const server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#deps.logger.error({ err: errorMessage(err) }, 'admin http handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.maxHeadersCount = 50;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: hp.host === '' ? undefined : hp.host, port: hp.port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      throw new DaemonError('ERR_LISTEN', `cannot listen on http ${this.#address}: ${errorMessage(err)}`, {
        cause: err,
      });
    });
    server.on('error', (err) => this.#deps.logger.error({ err: errorMessage(err) }, 'admin http server error'));
    this.#server = server;
    const a = server.address() as AddressInfo;
    this.#bound = { host: a.address, port: a.port };
    this.#deps.logger.info({ address: `${a.address}:${a.port}` }, 'admin http server listening');
  }

  address(): { host: string; port: number } {
    return this.#bound;
  }

  async #handle(req: Http.IncomingMessage, res: Http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    // No endpoint takes a body: a request that sends one is answered at once and the
    // connection closed, so the body is never read (whatever its size).
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (hasBody) res.setHeader('connection', 'close');
    const routes = ['/metrics', '/healthcheck', '/deepcheck', '/healthz', '/readyz'];
    if (path === undefined || !routes.includes(path)) return text(404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return text(405, 'method not allowed\n');
    }
    if (hasBody) return text(413, 'request bodies are not accepted\n');
    switch (path) {
      case '/metrics': {
        const body = await this.#deps.registry.metrics();
        res.writeHead(200, { 'content-type': this.#deps.registry.contentType });
        res.end(body);
        return;
      }
      case '/healthcheck':
      case '/deepcheck':
        return text(200, 'OK');
      case '/healthz':
        return text(200, 'ok\n');
      default:
        return this.#deps.ready() ? text(200, 'ready\n') : text(503, 'not ready\n');
    }
  }

  async shutdown(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
