import type { Registry } from 'prom-client';
import { CONTENT_TYPES, negotiate, textToOpenMetrics } from '../shared/exposition-format.js';
import { encodeFamilies, METRIC_TYPE, type MetricData, type MetricFamilyData } from '../shared/metric-family.js';
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
        const format = sources.length > 0 ? negotiate(req.headers.accept, true) : 'text';
        res.writeHead(200, { 'content-type': format === 'text' ? deps.registry.contentType : CONTENT_TYPES[format] });
        if (format === 'protobuf') res.write(encodeFamilies(registryFamilies(await deps.registry.getMetricsAsJSON())));
        else {
          const body = await deps.registry.metrics();
          res.write(format === 'text' ? body : textToOpenMetrics(body));
        }
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

/** prom-client's metrics as data (`getMetricsAsJSON`). */
type PromClientMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * The self-metrics as protobuf families: prom-client's values regrouped per label set
 * (a histogram's `_bucket`, `_sum` and `_count` samples, a summary's quantiles, sum and count).
 */
export function registryFamilies(metrics: PromClientMetrics): MetricFamilyData[] {
  return metrics.map((m) => {
    const type = String(m.type) as keyof typeof METRIC_TYPE;
    const byLabels = new Map<string, MetricData>();
    for (const v of m.values) {
      const labels = Object.entries(v.labels).filter(([k]) => k !== 'le' && !(type === 'summary' && k === 'quantile'));
      const key = JSON.stringify(labels);
      let metric = byLabels.get(key);
      if (metric === undefined) {
        metric = { label: labels.map(([name, value]) => ({ name, value: String(value) })) };
        if (type === 'histogram') metric.histogram = { sampleCount: 0, sampleSum: 0, bucket: [] };
        else if (type === 'summary') metric.summary = { sampleCount: 0, sampleSum: 0, quantile: [] };
        byLabels.set(key, metric);
      }
      const sample = (v as { metricName?: string }).metricName ?? m.name;
      const h = metric.histogram;
      const s = metric.summary;
      if (h !== undefined || s !== undefined) {
        const agg = (h ?? s)!;
        if (sample.endsWith('_sum')) agg.sampleSum = v.value;
        else if (sample.endsWith('_count')) agg.sampleCount = v.value;
        else if (h !== undefined && Number(v.labels['le']) !== Infinity && v.labels['le'] !== '+Inf')
          h.bucket.push({ cumulativeCount: v.value, upperBound: Number(v.labels['le']) });
        else if (s !== undefined) s.quantile.push({ quantile: Number(v.labels['quantile']), value: v.value });
      } else if (type === 'counter') metric.counter = { value: v.value };
      else metric.gauge = { value: v.value };
    }
    return {
      name: m.name,
      help: m.help,
      type: METRIC_TYPE[type] ?? METRIC_TYPE.untyped,
      metric: [...byLabels.values()],
    };
  });
}
