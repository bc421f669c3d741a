import type * as Http from 'node:http';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { errorMessage } from '../shared/errors.js';
import { CONTENT_TYPES, negotiate, textToOpenMetrics } from '../shared/exposition-format.js';
import type { MetricsSource, Route, RouteRegistry } from '../shared/http-routes.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import { close, listen, type BoundAddress } from '../shared/listen.js';
import type { Logger } from '../shared/logger.js';

/** The owner of the server's own routes. */
const DAEMON = 'daemon';

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
 * AdminHttpServer is the daemon's HTTP server (`web-addr`). Its own routes are
 * `/metrics` (self-metrics, Prometheus text, then the families components add with
 * {@link RouteRegistry.extendMetrics}), `/healthcheck` and `/deepcheck` (gostatsd's
 * names, body `OK`), `/healthz` (alive) and `/readyz` (503 until ready); components add
 * theirs through {@link RouteRegistry}. Unknown paths get 404, other methods 405. A
 * request with a body to a route that reads none is answered 413 at once and the
 * connection closed, so the body is never read. Timeouts and a header-count limit bound
 * what a slow or hostile client can hold.
 */
export class AdminHttpServer implements Lifecycle, RouteRegistry {
  readonly #address: string;
  readonly #deps: AdminHttpServerDeps;
  readonly #routes = new Map<string, Route>();
  readonly #metricsSources = new Map<string, MetricsSource>();
  #server: Http.Server | undefined;
  #bound: BoundAddress = { host: '', port: 0 };

  constructor(address: string, deps: AdminHttpServerDeps) {
    this.#address = address;
    this.#deps = deps;
    const text = (status: number, body: string) => (_req: Http.IncomingMessage, res: Http.ServerResponse) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    const get = ['GET', 'HEAD'];
    this.register({
      owner: DAEMON,
      path: '/metrics',
      methods: get,
      handler: async (req, res) => {
        // OpenMetrics only when a component adds families (the self-metrics alone stay as
        // prom-client renders them).
        const sources = [...this.#metricsSources.values()];
        const format = sources.length > 0 ? negotiate(req.headers.accept) : 'text';
        const body = await deps.registry.metrics();
        res.writeHead(200, { 'content-type': format === 'text' ? deps.registry.contentType : CONTENT_TYPES[format] });
        res.write(format === 'text' ? body : textToOpenMetrics(body));
        for (const source of sources) await source.write(res, format);
        res.end(format === 'openmetrics' ? '# EOF\n' : undefined);
      },
    });
    this.register({ owner: DAEMON, path: '/healthcheck', methods: get, handler: text(200, 'OK') });
    this.register({ owner: DAEMON, path: '/deepcheck', methods: get, handler: text(200, 'OK') });
    this.register({ owner: DAEMON, path: '/healthz', methods: get, handler: text(200, 'ok\n') });
    this.register({
      owner: DAEMON,
      path: '/readyz',
      methods: get,
      handler: (req, res) => (deps.ready() ? text(200, 'ready\n') : text(503, 'not ready\n'))(req, res),
    });
  }

  register(route: Route): () => void {
    const held = this.#routes.get(route.path);
    if (held !== undefined && held.owner !== route.owner)
      throw new Error(`http path ${route.path} is already served by ${held.owner}`);
    this.#routes.set(route.path, route);
    return () => {
      if (this.#routes.get(route.path) === route) this.#routes.delete(route.path);
    };
  }

  extendMetrics(source: MetricsSource): () => void {
    this.#metricsSources.set(source.owner, source);
    return () => {
      if (this.#metricsSources.get(source.owner) === source) this.#metricsSources.delete(source.owner);
    };
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#deps.logger.error({ err: errorMessage(err) }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.maxHeadersCount = 50;
    this.#bound = await listen(server, this.#address, 'web-addr', 'http');
    server.on('error', (err) => this.#deps.logger.error({ err: errorMessage(err) }, 'admin http server error'));
    this.#server = server;
    this.#deps.logger.info({ address: `${this.#bound.host}:${this.#bound.port}` }, 'admin http server listening');
  }

  address(): BoundAddress {
    return this.#bound;
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
