import type { InMemoryAggregator } from '../aggregator/in-memory-aggregator.js';
import type { Backend, BackendDeps, SharedBackendSettings } from '../backends/backend.js';
import { backendFactory, COMPONENTS, reloadOptions, type Components } from './components.js';
import type { DaemonConfig } from '../config/config.js';
import { planReload, type ReloadPlan } from '../config/reload-plan.js';
import { Flusher } from '../flusher/flusher.js';
import { raceAbort } from '../shared/abort.js';
import { IngestStats } from '../ingest/ingest-stats.js';
import type { Ingester } from '../ingest/ingester.js';
import { createPipeline, reconfigurePipeline, type Pipeline, type PipelineConfig } from '../ingest/pipeline.js';
import type { TagProcessorConfig } from '../ingest/tag-processor.js';
import type { ServiceCheck, StatsdEvent } from '../parser/sample.js';
import type { Receiver, ReceiverDeps } from '../receivers/receiver.js';
import type { BoundAddress } from '../shared/listen.js';
import type { Clock } from '../shared/clock.js';
import { DaemonError, errorMessage } from '../shared/errors.js';
import { formatDurationMs } from '../shared/duration.js';
import type { Logger } from '../shared/logger.js';
import { AdminHttpServer } from '../telemetry/http-server.js';
import { SelfMetrics } from '../telemetry/self-metrics.js';
import { MetricStats } from '../ingest/metric-stats.js';
import { RecentRejects } from '../ingest/observe.js';
import { TapHub } from '../telemetry/tap.js';
import { registerDebugRoutes } from '../telemetry/debug-routes.js';
import { redactSecrets, StatusPage, type StatusModel } from '../telemetry/status-page.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { UdpReceiverConfig } from '../receivers/udp/udp-receiver.js';
import type { IngestWorkers } from '../workers/ingest-workers.js';
import type * as IngestWorkersModule from '../workers/ingest-workers.js';
import { onFirstUse } from '../shared/on-first-use.js';
import { trimMallocHeap } from '../shared/native-addon.js';
import { MemoryTrimmer } from './memory-trim.js';

/** The ingest worker threads' main-thread side, loaded only by a daemon with ingest threads (`max-workers` >= 2 or `flush-thread`). */
const ingestWorkers = onFirstUse<typeof IngestWorkersModule>(import.meta.url, '../workers/ingest-workers.js');

/** Dependencies of {@link Daemon}. */
export interface DaemonDeps {
  logger: Logger;
  clock: Clock;
  version: string;
  /** Output of the stdout backend; process.stdout by default. */
  stdout?: NodeJS.WritableStream;
  /** The backend and receiver types it can build (default: this build's, COMPONENTS). */
  components?: Components;
}

/** Bound addresses, once started: every receiver by type (`udp`, `tcp`, …) and `web`. */
export interface DaemonAddresses {
  udp: BoundAddress;
  web?: BoundAddress;
  [receiver: string]: BoundAddress | undefined;
}

/**
 * Daemon is the composition root: config → backends, aggregator, flusher, receivers and
 * the admin HTTP server.
 *
 * Start order: backends, flusher, admin server, receivers. Shutdown order is the
 * reverse of intake: receivers stop first, then one final flush delivers everything
 * received, then backends and the admin server close.
 */
export class Daemon implements Lifecycle {
  #config: DaemonConfig;
  readonly stats = new IngestStats();
  readonly aggregator: InMemoryAggregator;
  readonly metrics: SelfMetrics;
  readonly #deps: DaemonDeps;
  readonly #components: Components;
  #backends: Backend[];
  #reloading: Promise<unknown> = Promise.resolve();
  readonly #flusher: Flusher;
  readonly #pipeline: Pipeline;
  readonly #ingester: Ingester;
  /** The UDP receiver's threads when `max-workers` is 2 or more or `flush-thread` is on. */
  readonly #workers: IngestWorkers | undefined;
  /** Receivers by type, in start order. */
  readonly #receivers = new Map<string, Receiver>();
  readonly #http: AdminHttpServer | undefined;
  #ready = false;
  /** Per-metric statistics (`/debug/metrics`, `top`, the status page). */
  readonly metricStats: MetricStats;
  /** The last rejected lines (the status page). */
  readonly rejects = new RecentRejects();
  /** The live tap (`/debug/tap`). */
  readonly tap: TapHub;
  /** Where the configuration came from (a file path, a ConfigMap), for the status page. */
  configOrigin = '';
  readonly #startedAtMs: number;
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(config: DaemonConfig, deps: DaemonDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#components = deps.components ?? COMPONENTS;
    const { logger, clock } = deps;
    this.#startedAtMs = clock.now();
    this.metricStats = new MetricStats(clock.now());
    this.tap = new TapHub(
      () => clock.now(),
      (open) => {
        this.#ingester.attachTap(open ? this.tap : undefined);
        this.#workers?.attachTap(open);
      },
    );
    const pipeline = createPipeline(pipelineConfigOf(config), {
      stats: this.stats,
      clock,
      logger,
      metricStats: this.metricStats,
      rejects: this.rejects,
      onEvent: (e) => this.#dispatchEvent(e),
      onServiceCheck: (c) => this.#dispatchServiceCheck(c),
    });
    this.#pipeline = pipeline;
    this.aggregator = pipeline.aggregator;
    this.#ingester = pipeline.ingester;
    this.metrics = new SelfMetrics({
      stats: this.stats,
      seriesCount: () => this.aggregator.seriesCount(),
      seriesDropped: () => this.aggregator.seriesDropped,
      udpKernelDrops: () => this.#kernelDrops(),
      workerDatagrams: () => this.#workers?.datagrams() ?? [],
      workerRestarts: () => this.#workers?.restarts ?? 0,
      version: deps.version,
    });
    // The HTTP server exists before the components, which may register routes on it.
    if (config.webAddr !== '') {
      this.#http = new AdminHttpServer(config.webAddr, {
        registry: this.metrics.registry,
        logger,
        ready: () => this.#ready,
        closed: this.stats.connectionsClosed('admin'),
      });
      registerDebugRoutes({
        routes: this.#http,
        clock,
        tap: this.tap,
        metricStats: this.metricStats,
        series: () => this.#seriesFacts(),
        endpoints: () => this.#config.debugEndpoints,
      });
      const status = new StatusPage(() => this.#statusModel());
      this.#http.register({
        owner: 'daemon',
        path: '/',
        methods: ['GET'],
        handler: (req, res) => status.handle(req, res),
      });
    }
    this.#backends = config.backends.map((name) => this.#createBackend(name, config));
    const threads = ingestThreads(config);
    if (threads > 0 && config.receivers['udp'] !== undefined) {
      this.#workers = new (ingestWorkers().IngestWorkers)(
        {
          count: threads,
          udp: config.receivers['udp'] as UdpReceiverConfig,
          pipeline: pipelineConfigOf(config),
        },
        {
          aggregator: this.aggregator,
          stats: this.stats,
          metricStats: this.metricStats,
          rejects: this.rejects,
          tap: this.tap,
          onEvent: (e) => this.#dispatchEvent(e),
          onServiceCheck: (c) => this.#dispatchServiceCheck(c),
          logger,
          clock,
          onReceiveBuffer: (b) => this.metrics.udpReceiveBuffer.set(b),
        },
      );
    }
    const workers = this.#workers;
    const trimmer = new MemoryTrimmer(trimMallocHeap, clock, logger);
    this.#flusher = new Flusher(
      { flushIntervalMs: config.flushIntervalMs },
      {
        aggregator: this.aggregator,
        backends: () => this.#backends,
        clock,
        logger,
        metrics: this.metrics.flusher(),
        ...(workers !== undefined ? { gather: (signal: AbortSignal) => workers.gather(signal) } : {}),
        afterFlush: () => trimmer.afterFlush(),
      },
    );
    for (const [type, settings] of Object.entries(config.receivers)) {
      if (type === 'udp' && workers !== undefined) {
        this.#receivers.set(type, workers);
        continue;
      }
      const factory = this.#components.receivers.get(type);
      if (factory === undefined) throw new DaemonError('ERR_INTERNAL', `receiver "${type}" is not registered`);
      const rdeps: ReceiverDeps = {
        sink: this.#ingester,
        stats: this.stats,
        logger,
        clock,
        onReceiveBuffer: (b) => this.metrics.udpReceiveBuffer.set(b),
      };
      if (this.#http !== undefined) rdeps.routes = this.#http;
      this.#receivers.set(type, factory.create(settings, rdeps));
    }
  }

  /** Kernel drops summed over the receivers that report them; undefined when none does. */
  #kernelDrops(): number | undefined {
    let total: number | undefined;
    for (const r of this.#receivers.values()) {
      const n = r.kernelDrops?.();
      if (n !== undefined) total = (total ?? 0) + n;
    }
    return total;
  }

  #seriesFacts(): { live: number; max: number; dropped: number } {
    return { live: this.aggregator.liveSeries, max: this.#config.maxSeries, dropped: this.aggregator.seriesDropped };
  }

  #statusModel(): StatusModel {
    const now = this.#deps.clock.now();
    return {
      version: this.#deps.version,
      ready: this.#ready,
      nowMs: now,
      startedAtMs: this.#startedAtMs,
      config: { ...this.metrics.configFacts, origin: this.configOrigin, settings: redactSecrets(this.#config) },
      receivers: [...this.#receivers].map(([type, r]) => {
        const a = r.address();
        return { type, address: a.port === 0 && a.host.startsWith('/') ? a.host : `${a.host}:${a.port}` };
      }),
      stats: this.stats,
      kernelDrops: this.#kernelDrops(),
      series: this.#seriesFacts(),
      backends: this.#config.backends.map((name) => ({ name, facts: this.metrics.backendFacts.get(name) })),
      top: this.metricStats.report(now, 10),
      rejects: this.rejects.list(),
    };
  }

  /** The configuration in force (changes with {@link applyConfig}). */
  get config(): DaemonConfig {
    return this.#config;
  }

  #createBackend(name: string, config: DaemonConfig): Backend {
    const factory = backendFactory(this.#components, name);
    const bdeps: BackendDeps = {
      name,
      logger: this.#deps.logger.child({ backend: name }),
      clock: this.#deps.clock,
      metrics: this.metrics.backend(name),
      tap: this.tap,
    };
    if (this.#http !== undefined) bdeps.routes = this.#http;
    if (this.#deps.stdout !== undefined) bdeps.stdout = this.#deps.stdout;
    return factory.create(config.backendConfigs[name], sharedSettings(config), bdeps);
  }

  /**
   * Applies a validated configuration live and resolves with what changed. Reloads are
   * serialised. Keys that need a restart keep their running values (listed in
   * `restartRequired`).
   *
   * Backends: new or changed ones are created and started first (if one fails to start,
   * nothing changes and this rejects). Then the set is swapped between two flushes: every
   * flush whose interval is cut before the swap goes to the old set, every later one to
   * the new set, so each sample is delivered once. Old instances that are no longer used
   * shut down after their last flush. Aggregated state is never touched.
   */
  applyConfig(next: DaemonConfig): Promise<ReloadPlan> {
    const run = this.#reloading.then(() => this.#apply(next));
    this.#reloading = run.catch(() => undefined);
    return run;
  }

  async #apply(next: DaemonConfig): Promise<ReloadPlan> {
    if (this.#state !== 'running') throw new DaemonError('ERR_STATE', `cannot reload while ${this.#state}`);
    const plan = planReload(this.#config, next, reloadOptions(this.#components));
    const cfg = plan.effective;
    const started: Backend[] = [];
    try {
      for (const name of plan.startBackends) {
        const b = this.#createBackend(name, cfg);
        started.push(b);
        await b.start();
      }
    } catch (err) {
      for (const b of started) await b.shutdown().catch(() => undefined);
      throw err;
    }
    const byName = new Map(this.#backends.map((b) => [b.name, b]));
    const retired = plan.stopBackends.map((n) => byName.get(n)).filter((b): b is Backend => b !== undefined);
    const fresh = new Map(started.map((b) => [b.name, b]));
    this.#backends = cfg.backends.map((n) => fresh.get(n) ?? byName.get(n)!);
    for (const name of plan.reconfigureBackends)
      byName.get(name)?.reconfigure?.(cfg.backendConfigs[name], sharedSettings(cfg));

    const pipelineConfig = pipelineConfigOf(cfg);
    reconfigurePipeline(this.#pipeline, pipelineConfig);
    this.#flusher.setInterval(cfg.flushIntervalMs);
    if (cfg.debugEndpoints !== 'tap') this.tap.closeAll();
    if (plan.live.includes('verbose')) this.#deps.logger.level = cfg.verbose ? 'debug' : 'info';
    this.#workers?.reconfigure(pipelineConfig);
    this.#config = cfg;

    if (retired.length > 0) {
      // A flush cut before the swap may still be sending to the retired instances.
      await this.#flusher.idle();
      for (const b of retired) {
        try {
          await b.shutdown(this.#deps.clock.timeout(cfg.shutdownTimeoutMs));
        } catch (err) {
          this.#deps.logger.warn(
            { backend: b.name, err: errorMessage(err) },
            'retired backend did not shut down cleanly',
          );
        }
      }
    }
    return plan;
  }

  /** The ingest entry point (used by benchmarks and tests that bypass sockets). */
  get ingester(): Ingester {
    return this.#ingester;
  }

  /** The UDP ingest threads when `max-workers` is 2 or more or `flush-thread` is on (diagnostics, tests). */
  get ingestWorkers(): IngestWorkers | undefined {
    return this.#workers;
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'starting';
    const { logger } = this.#deps;
    for (const b of this.#backends) await b.start();
    await this.#flusher.start();
    await this.#http?.start();
    for (const r of this.#receivers.values()) await r.start();
    this.#ready = true;
    this.#state = 'running';
    logger.info(
      {
        backends: this.config.backends,
        flushInterval: formatDurationMs(this.config.flushIntervalMs),
        maxWorkers: this.config.maxWorkers,
        ingestThreads: this.#workers?.threads().length ?? 0,
        percentThreshold: this.config.percentThresholds,
      },
      'statsd-sepagent started',
    );
  }

  /** Where the listeners are bound (ports resolved): each receiver by type, and `web`. */
  addresses(): DaemonAddresses {
    const out: DaemonAddresses = { udp: this.#receivers.get('udp')?.address() ?? { host: '', port: 0 } };
    for (const [type, r] of this.#receivers) out[type] = r.address();
    if (this.#http !== undefined) out.web = this.#http.address();
    return out;
  }

  /** Runs a flush now (tests, tools). */
  flushNow(): Promise<void> {
    return this.#flusher.flushNow();
  }

  /**
   * Stops intake, runs the final flush, closes backends and the admin server. Bounded by
   * `signal`: once it aborts, whatever is still pending is abandoned.
   */
  async shutdown(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#ready = false;
    const { logger } = this.#deps;
    const step = async (what: string, p: Promise<void>): Promise<void> => {
      try {
        await (signal === undefined ? p : raceAbort(p, signal));
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, `shutdown: ${what} did not finish`);
      }
    };
    await step(
      'reload in progress',
      this.#reloading.then(() => undefined),
    );
    for (const [type, r] of this.#receivers) await step(`receiver ${type}`, r.shutdown(signal));
    await step('final flush', this.#flusher.shutdown(signal));
    if (this.#workers !== undefined) await step('ingest workers', this.#workers.close());
    for (const b of this.#backends) await step(`backend ${b.name}`, b.shutdown(signal));
    this.tap.closeAll();
    if (this.#http !== undefined) await step('admin server', this.#http.shutdown());
    this.#state = 'stopped';
    logger.info('statsd-sepagent stopped');
  }

  #dispatchServiceCheck(c: ServiceCheck): void {
    const signal = this.#deps.clock.timeout(this.config.flushIntervalMs);
    for (const b of this.#backends) {
      if (b.sendServiceCheck === undefined) continue;
      raceAbort(b.sendServiceCheck(c, signal), signal).catch((err: unknown) =>
        this.#deps.logger.debug({ backend: b.name, err: errorMessage(err) }, 'service check delivery failed'),
      );
    }
  }

  #dispatchEvent(e: StatsdEvent): void {
    const signal = this.#deps.clock.timeout(this.config.flushIntervalMs);
    for (const b of this.#backends) {
      raceAbort(b.sendEvent(e, signal), signal).catch((err: unknown) =>
        this.#deps.logger.debug({ backend: b.name, err: errorMessage(err) }, 'event delivery failed'),
      );
    }
  }
}

/**
 * How many UDP ingest threads a configuration runs apart from the main thread: `max-workers`
 * when it is 2 or more, one with `flush-thread`, none otherwise (the main thread reads).
 */
export function ingestThreads(config: DaemonConfig): number {
  if (config.maxWorkers >= 2) return config.maxWorkers;
  return config.flushThread ? 1 : 0;
}

/** The receive side's settings in a configuration (the daemon's and explain's). */
export function pipelineConfigOf(config: DaemonConfig): PipelineConfig {
  return {
    aggregator: {
      percentThresholds: config.percentThresholds,
      disabledPercentiles: config.disabledPercentiles,
      expiry: config.expiry,
      maxSeries: config.maxSeries,
      timerExactValues: config.timerExactValues,
      timerMaxBuckets: config.timerMaxBuckets,
    },
    tags: tagsOf(config),
    badLinesPerMinute: config.badLinesPerMinute,
    istioNames: config.istioNames,
    gaugeDeltas: config.gaugeDeltas,
  };
}

function tagsOf(config: DaemonConfig): TagProcessorConfig {
  return {
    ignoreHost: config.ignoreHost,
    namespace: config.namespace,
    defaultTags: [...config.defaultTags, ...config.podTags.tags],
    containerIdTag: config.containerIdTag,
    filters: config.filters,
  };
}

/** The settings every backend may read besides its own section. */
export function sharedSettings(config: DaemonConfig): SharedBackendSettings {
  return {
    disabledSubMetrics: config.disabledSubMetrics,
    maxSeries: config.maxSeries,
    envoyTagExtraction: config.envoyTagExtraction,
    expiry: config.expiry,
    podTags: { tags: config.podTags.tags, resource: config.podTags.resource },
  };
}
