import type { Registry } from 'prom-client';
import { CONTENT_TYPES, negotiate, textToOpenMetrics } from '../shared/exposition-format.js';
import type { MetricsSource, Route, RouteRegistry } from '../shared/http-routes.js';
import { RoutedHttpServer, textHandler, type ConnectionsClosed } from '../shared/http-server.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { BoundAddress } from '../shared/listen.js';
import type { Logger } from '../shared/logger.js';

/** The owner of the server's own routes. */
const DAEMON = 'daemon';

/** Dependencies of {@link AdminHttpServer}. */
export interface AdminHttpServerDeps {
  registry: Registry;
  logger: Logger;
  /** Whether the daemon is ready to receive (listeners bound, backends started). */
  ready: () => boolean;
  /** Where connections the server closes on its own are counted. */
  closed?: ConnectionsClosed;
}

/**
 * AdminHttpServer is the daemon's HTTP server (`web-addr`), a {@link RoutedHttpServer}.
 * Its own routes are `/metrics` (self-metrics, Prometheus text, then the families
 * components add with {@link RouteRegistry.extendMetrics}), `/healthcheck` and
 * `/deepcheck` (gostatsd's names, body `OK`), `/healthz` (alive) and `/readyz` (503 until
 * ready); components add theirs through {@link RouteRegistry}.
 */
export class AdminHttpServer implements Lifecycle, RouteRegistry {
  readonly #server: RoutedHttpServer;
  readonly #metricsSources = new Map<string, MetricsSource>();

  constructor(address: string, deps: AdminHttpServerDeps) {
    this.#server = new RoutedHttpServer({
      address,
      key: 'web-addr',
      what: 'admin http server',
      logger: deps.logger,
      ...(deps.closed !== undefined ? { closed: deps.closed } : {}),
    });
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
    this.register({ owner: DAEMON, path: '/healthcheck', methods: get, handler: textHandler(200, 'OK') });
    this.register({ owner: DAEMON, path: '/deepcheck', methods: get, handler: textHandler(200, 'OK') });
    this.register({ owner: DAEMON, path: '/healthz', methods: get, handler: textHandler(200, 'ok\n') });
    const ready = textHandler(200, 'ready\n');
    const notReady = textHandler(503, 'not ready\n');
    this.register({
      owner: DAEMON,
      path: '/readyz',
      methods: get,
      handler: (req, res) => (deps.ready() ? ready : notReady)(req, res),
    });
  }

  register(route: Route): () => void {
    return this.#server.register(route);
  }

  extendMetrics(source: MetricsSource): () => void {
    this.#metricsSources.set(source.owner, source);
    return () => {
      if (this.#metricsSources.get(source.owner) === source) this.#metricsSources.delete(source.owner);
    };
  }

  start(): Promise<void> {
    return this.#server.start();
  }

  address(): BoundAddress {
    return this.#server.address();
  }

  shutdown(): Promise<void> {
    return this.#server.shutdown();
  }
}
