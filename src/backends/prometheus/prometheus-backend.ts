import { EnvoyTagExtractor } from '../../shared/envoy-tags.js';
import type { ServerResponse } from 'node:http';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { runChunked } from '../../shared/cooperative.js';
import { drainedOrClosed } from '../../shared/drain.js';
import type { Backend, BackendDeps, SharedBackendSettings } from '../backend.js';
import { mapperOf, type PrometheusConfig } from './config.js';
import { CONTENT_TYPES, negotiate, type ExpositionFormat } from '../../shared/exposition-format.js';
import { exposition } from './exposition.js';
import { PromStore } from './store.js';

/** The path whose exposition joins the daemon's own `/metrics` page. */
const SHARED_PATH = '/metrics';

/**
 * PrometheusBackend keeps cumulative series built from every flushed interval (see
 * PromStore) and serves them for scraping on the daemon's web server. Flushing never
 * waits on a scraper and applies an interval in slices that yield to receiving; a scrape streams the exposition in chunks and yields to the event
 * loop between them, so 100,000 series never hold up receiving for long.
 */
export class PrometheusBackend implements Backend {
  readonly name: string;
  /**
   * Counters are cumulative here: an interval skipped while the backend is busy would lose
   * its counts for good, so waiting intervals are merged instead.
   */
  readonly busyPolicy = 'coalesce' as const;
  readonly #deps: BackendDeps;
  #config: PrometheusConfig;
  readonly #store: PromStore;
  #unregister: (() => void) | undefined;

  constructor(config: PrometheusConfig, shared: SharedBackendSettings, deps: BackendDeps) {
    this.name = deps.name;
    this.#deps = deps;
    this.#config = config;
    this.#store = new PromStore(
      mapperOf(config),
      shared.maxSeries,
      (reason, n) => deps.metrics.dropped(reason, n),
      new EnvoyTagExtractor(shared.envoyTagExtraction),
      shared.expiry,
    );
  }

  async start(): Promise<void> {
    this.#serve();
  }

  #serve(): void {
    const routes = this.#deps.routes;
    this.#unregister?.();
    this.#unregister = undefined;
    if (routes === undefined) {
      this.#deps.logger.warn('web-addr is off: the prometheus exposition is not served');
      return;
    }
    if (this.#config.path === SHARED_PATH) {
      this.#unregister = routes.extendMetrics({
        owner: this.name,
        write: (res, format) => this.#write(res, format, false),
      });
      return;
    }
    this.#unregister = routes.register({
      owner: this.name,
      path: this.#config.path,
      methods: ['GET', 'HEAD'],
      handler: async (req, res) => {
        const format = negotiate(req.headers.accept);
        res.writeHead(200, { 'content-type': CONTENT_TYPES[format] });
        if (req.method === 'HEAD') return void res.end();
        await this.#write(res, format);
        res.end();
      },
    });
  }

  /** Streams the exposition, waiting for the socket to drain and yielding between chunks. */
  async #write(res: ServerResponse, format: ExpositionFormat, eof = true): Promise<void> {
    for (const chunk of exposition(this.#store, format, this.#deps.clock.now(), eof)) {
      if (res.destroyed) return;
      if (!res.write(chunk)) await drainedOrClosed(res);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Applies the interval in slices that leave the event loop free. It finishes even past
   * its deadline (`_signal` is not honoured): the work is local and bounded by the series
   * count, and stopping half-way would lose the rest of the interval's counts for good.
   * Meanwhile the flusher merges the intervals that wait (busy policy `coalesce`).
   */
  async flush(snapshot: FlushSnapshot, _signal: AbortSignal): Promise<void> {
    await runChunked(this.#store.applyChunked(snapshot));
    await runChunked(this.#store.expireChunked(snapshot.timestampMs));
  }

  reconfigure(config: unknown, shared: SharedBackendSettings): void {
    const next = config as PrometheusConfig;
    const pathChanged = next.path !== this.#config.path;
    this.#config = next;
    this.#store.reconfigure(
      mapperOf(next),
      shared.maxSeries,
      new EnvoyTagExtractor(shared.envoyTagExtraction),
      shared.expiry,
    );
    if (pathChanged) this.#serve();
    this.#deps.logger.info({ series: this.#store.seriesCount }, 'prometheus mapping reconfigured; series kept');
  }

  async sendEvent(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#unregister?.();
    this.#unregister = undefined;
  }
}
