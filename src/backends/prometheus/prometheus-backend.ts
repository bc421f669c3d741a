import { EnvoyTagExtractor } from '../../shared/envoy-tags.js';
import type { ServerResponse } from 'node:http';
import type { FlushSnapshot, SeriesIdentity } from '../../aggregator/snapshot.js';
import { runChunked } from '../../shared/cooperative.js';
import { drainedOrClosed } from '../../shared/drain.js';
import type { Backend, BackendDeps, Explanation, SharedBackendSettings } from '../backend.js';
import { mapperOf, type PrometheusConfig } from './config.js';
import { CONTENT_TYPES, negotiate, type ExpositionFormat } from '../../shared/exposition-format.js';
import { encodeFamilies } from '../../shared/metric-family.js';
import { exposition, protobufFamilies } from './exposition.js';
import { PromStore, type DropReason } from './store.js';
import type { MatchMetricType } from './mapping.js';

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
  /** Where the store's refusals go: the backend's counters, or an explanation being built. */
  #onDrop: (reason: DropReason, n: number, name?: string) => void;

  constructor(config: PrometheusConfig, shared: SharedBackendSettings, deps: BackendDeps) {
    this.name = deps.name;
    this.#deps = deps;
    this.#config = config;
    this.#onDrop = (reason, n, name) => {
      deps.metrics.dropped(reason, n);
      if (name !== undefined && deps.tap?.open === true) deps.tap.unmatched(this.name, name, reason);
    };
    this.#store = new PromStore(
      mapperOf(config),
      shared.maxSeries,
      (reason, n, name) => this.#onDrop(reason, n, name),
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
        const format = negotiate(req.headers.accept, true);
        res.writeHead(200, { 'content-type': CONTENT_TYPES[format] });
        if (req.method === 'HEAD') return void res.end();
        await this.#write(res, format);
        res.end();
      },
    });
  }

  /** Streams the exposition, waiting for the socket to drain and yielding between chunks. */
  async #write(res: ServerResponse, format: ExpositionFormat, eof = true): Promise<void> {
    const chunks =
      format === 'protobuf'
        ? map(protobufFamilies(this.#store, this.#deps.clock.now()), encodeFamilies)
        : exposition(this.#store, format, this.#deps.clock.now(), eof);
    for (const chunk of chunks) {
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
    this.#deps.metrics.leftOutAtFlush?.(this.#store.refusedAtLastApply);
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

  /**
   * The rule each series matched, its name and labels, and the exposition lines it now
   * has; or why the store refused it (a drop rule, a conflict with a family seen before,
   * the series cap).
   */
  explain(snapshot: FlushSnapshot): Explanation {
    const refused: string[] = [];
    const counting = this.#onDrop;
    this.#onDrop = (reason) => void refused.push(reason);
    try {
      this.#store.apply(snapshot);
    } finally {
      this.#onDrop = counting;
    }
    const kinds: Array<[readonly SeriesIdentity[], MatchMetricType]> = [
      [snapshot.counters, 'counter'],
      [snapshot.gauges, 'gauge'],
      [snapshot.sets, 'gauge'],
      [snapshot.timers, 'observer'],
    ];
    const names = new Set<string>();
    const notes: string[] = [];
    for (const [points, type] of kinds) {
      for (const p of points) {
        const m = this.#store.mappingOf(p, type);
        const labels = [...m.labels]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(', ');
        const rule =
          m.rule < 0 ? 'no mapping rule matched' : `mapping rule ${m.rule} (match: ${JSON.stringify(m.match)})`;
        notes.push(`${p.name}: ${rule} → ${m.action === 'drop' ? 'drop' : `${m.name}{${labels}}`}`);
        names.add(m.name);
      }
    }
    const text = [...exposition(this.#store, 'text', snapshot.timestampMs)].join('');
    const emits = text.split('\n').filter((line) => {
      const head = line.startsWith('# ') ? line.split(' ')[2]! : line.split(/[{ ]/)[0]!;
      for (const n of names)
        if (head === n || (head.startsWith(n) && /^_(bucket|sum|count)$/.test(head.slice(n.length)))) return true;
      return false;
    });
    const reason = refused[0];
    if (reason === undefined) return { emits, notes };
    const held = [...names].map((n) => this.#store.families.get(n)).find((f) => f !== undefined);
    const detail =
      reason === 'max_series'
        ? 'the exposition already holds max-series series'
        : reason === 'mapping_drop'
          ? 'the matching rule says action: drop'
          : held !== undefined
            ? `${held.name} is already a ${held.type} family with labels [${held.labelNames}]`
            : `refused by the store (${reason})`;
    return { emits: [], notes, leftOut: { reason, detail } };
  }

  async sendEvent(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#unregister?.();
    this.#unregister = undefined;
  }
}

/** `f` of every item of `items`, lazily. */
function* map<T, U>(items: Iterable<T>, f: (t: T) => U): Generator<U> {
  for (const t of items) yield f(t);
}
