import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';
import type { BackendMetrics } from '../backends/backend.js';
import { seriesOf, type FlusherMetrics } from '../flusher/flusher.js';
import { FORWARDED_REJECT_REASONS, HTTP_INGEST_RESULTS, type IngestStats } from '../ingest/ingest-stats.js';
import { PARSE_ERROR_REASONS, type MetricKind } from '../parser/sample.js';

// prom-client's index also loads its Pushgateway, and with it node:https and OpenSSL's
// start-up (~3 MB of idle RSS in every sidecar); the daemon loads only the parts it uses.
const require = createRequire(import.meta.url);
const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
const Histogram = require('prom-client/lib/histogram') as typeof Prom.Histogram;
/**
 * prom-client's default metrics, each from its own module (as its `collectDefaultMetrics`
 * calls them), except `processCpuTotal`: that module loads `@opentelemetry/api` for
 * exemplars, 1.3 MB in every sidecar, so the three process CPU counters are defined by
 * {@link processCpuCounters} instead, with the same names and meaning.
 */
const DEFAULT_METRICS = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;
type DefaultMetric = (registry: Registry, config: { prefix: string; eventLoopMonitoringPrecision: number }) => void;
type Registry = Prom.Registry;
type Counter<T extends string = string> = Prom.Counter<T>;
type Gauge<T extends string = string> = Prom.Gauge<T>;
type Histogram<T extends string = string> = Prom.Histogram<T>;

/** Prefix of every self-metric. */
export const METRIC_PREFIX = 'statsd_sepagent_';

const KINDS: readonly MetricKind[] = ['counter', 'gauge', 'timer', 'set'];

/** Sources read at scrape time. */
export interface SelfMetricsSources {
  stats: IngestStats;
  seriesCount: () => Record<MetricKind, number>;
  /** Samples dropped by the series cap. */
  seriesDropped?: () => number;
  /** Datagrams the kernel dropped on the UDP socket (full receive buffer), if known. */
  udpKernelDrops?: () => number | undefined;
  /** UDP datagrams each ingest worker received (`max-workers` >= 2 or `flush-thread`), by worker; empty otherwise. */
  workerDatagrams?: () => readonly number[];
  /** Ingest workers that exited on their own and were started again. */
  workerRestarts?: () => number;
  version: string;
}

/**
 * SelfMetrics owns the daemon's private prom-client Registry (never the global one).
 * Hot-path counters live in {@link IngestStats} and are copied in at scrape time.
 */
/** What the status page shows of one backend instance (kept beside its counters). */
export interface BackendFacts {
  /** Intervals by result (`success`, `failure`, …) since start. */
  readonly results: Record<string, number>;
  /** The last interval's result and how long its delivery took. */
  last: { result: string; seconds: number } | undefined;
  sendErrors: number;
  lastErrorCode: string | undefined;
  /** Items not delivered since start. */
  dropped: number;
  /** Series left out of the last flush. */
  leftOutAtFlush: number;
}

/** What the status page shows of the configuration in force. */
export interface ConfigFacts {
  hash: string;
  source: string;
  /** Unix seconds when it was applied. */
  appliedAt: number;
  /** Whether the last reload attempt was applied. */
  lastReloadOk: boolean;
  reloads: number;
}

export class SelfMetrics {
  readonly registry = new Registry();
  /** The configuration in force, for the status page. */
  readonly configFacts: ConfigFacts = { hash: '', source: '', appliedAt: 0, lastReloadOk: true, reloads: 0 };
  /** Per backend instance, for the status page. */
  readonly backendFacts = new Map<string, BackendFacts>();
  readonly flushDuration: Histogram;
  readonly flushes: Counter;
  readonly backendFlushes: Counter<'backend' | 'result'>;
  readonly udpReceiveBuffer: Gauge;
  readonly #backendOverdue: Gauge<'backend'>;
  readonly #snapshotsHeld: Gauge;
  readonly #freshSnapshots: Counter;
  readonly #ticksDeferred: Counter;
  readonly #configReloads: Counter<'result'>;
  readonly #configInfo: Gauge<'hash' | 'source'>;
  readonly #configLastReloadOk: Gauge;
  readonly #configLastSuccess: Gauge;
  readonly #configSourceErrors: Counter<'source'>;
  readonly #sendErrors: Counter<'backend' | 'code'>;
  readonly #dropped: Counter<'backend' | 'reason'>;
  readonly #leftOut: Counter<'backend' | 'reason'>;
  readonly #leftOutNow: Gauge<'backend'>;
  readonly #datagramsSent: Counter<'backend'>;
  readonly #itemsSent: Counter<'backend'>;
  readonly #backendFlushDuration: Histogram<'backend'>;
  readonly #requestDuration: Histogram<'backend'>;

  constructor(src: SelfMetricsSources) {
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    const { stats } = src;
    const mirror = (
      name: string,
      help: string,
      labelNames: string[],
      read: () => Array<[Record<string, string>, number]>,
    ): void => {
      new Counter({
        name: p + name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [labels, v] of read()) this.inc(labels, v);
        },
      });
    };
    mirror('datagrams_received_total', 'UDP / Unix socket datagrams and TCP reads received.', ['transport'], () => [
      [{ transport: 'udp' }, stats.datagrams.udp],
      [{ transport: 'tcp' }, stats.datagrams.tcp],
      [{ transport: 'unix' }, stats.datagrams.unix],
    ]);
    mirror('bytes_received_total', 'Payload bytes received.', ['transport'], () => [
      [{ transport: 'udp' }, stats.bytes.udp],
      [{ transport: 'tcp' }, stats.bytes.tcp],
      [{ transport: 'unix' }, stats.bytes.unix],
    ]);
    mirror('lines_received_total', 'StatsD lines seen, good and bad.', [], () => [[{}, stats.lines]]);
    mirror('samples_received_total', 'Metric samples accepted, by type.', ['type'], () =>
      KINDS.map((k) => [{ type: k }, stats.samples[k]]),
    );
    mirror('events_received_total', 'DogStatsD events accepted.', [], () => [[{}, stats.events]]);
    mirror('service_checks_received_total', 'DogStatsD service checks accepted.', [], () => [
      [{}, stats.serviceChecks],
    ]);
    mirror(
      'line_fields_skipped_total',
      'Unknown |x… fields after the type of accepted lines, skipped (a newer DogStatsD client).',
      [],
      () => [[{}, stats.skippedFields]],
    );
    mirror(
      'client_timestamps_total',
      'Accepted lines with a DogStatsD 1.3 |T timestamp (aggregated at receive time; see docs/semantics.md).',
      [],
      () => [[{}, stats.clientTimestamps]],
    );
    mirror(
      'gauge_signed_lines_total',
      'Gauge lines whose value has a sign (+3, -3): set as written under gauge-deltas=ignore, added under apply.',
      [],
      () => [[{}, stats.gaugeSignedLines]],
    );
    mirror('bad_lines_total', 'Lines rejected, by reason.', ['reason'], () =>
      PARSE_ERROR_REASONS.map((r) => [{ reason: r }, stats.badLines[r]]),
    );
    mirror('filtered_metrics_total', 'Metrics dropped by a drop-metric filter.', [], () => [[{}, stats.filtered]]);
    mirror(
      'datagrams_dropped_total',
      'Datagrams dropped whole before parsing, by transport and reason (truncated_datagram: longer than 64 KiB, cut by the kernel).',
      ['transport', 'reason'],
      () =>
        (['udp', 'unix'] as const).map((t) => [
          { transport: t, reason: 'truncated_datagram' },
          stats.truncatedDatagrams[t],
        ]),
    );
    mirror('tcp_lines_too_long_total', 'TCP lines over tcp-max-line-length, discarded.', [], () => [
      [{}, stats.tcpLinesTooLong],
    ]);
    mirror(
      'http_ingest_requests_total',
      'Requests to the /v2/raw and /v2/event ingestion paths of the [http.<name>] servers, by server and result (accepted, or why rejected).',
      ['server', 'result'],
      () =>
        [...stats.httpRequests].flatMap(([server, byResult]) =>
          HTTP_INGEST_RESULTS.map((result): [Record<string, string>, number] => [{ server, result }, byResult[result]]),
        ),
    );
    mirror(
      'connections_closed_total',
      'Connections a listener closed on its own, by listener (tcp, admin, http.<name>) and reason: limit (refused past its connection cap) or timeout (idle, or no progress, past its deadline).',
      ['listener', 'reason'],
      () =>
        [...stats.connections].flatMap(([listener, c]): Array<[Record<string, string>, number]> => [
          [{ listener, reason: 'limit' }, c.limit],
          [{ listener, reason: 'timeout' }, c.timeout],
        ]),
    );
    mirror(
      'forwarded_series_received_total',
      'Series merged from forwarded intervals (/v2/raw), by type.',
      ['type'],
      () => KINDS.map((k) => [{ type: k }, stats.forwardedSeries[k]]),
    );
    mirror(
      'forwarded_series_rejected_total',
      'Series of forwarded intervals skipped as invalid (the rest of the request is merged), by reason.',
      ['reason'],
      () => FORWARDED_REJECT_REASONS.map((r) => [{ reason: r }, stats.forwardedRejected[r]]),
    );
    mirror(
      'series_dropped_total',
      'Samples dropped because they would have created a series past max-series.',
      [],
      () => [[{}, src.seriesDropped?.() ?? 0]],
    );
    mirror(
      'ingest_worker_datagrams_total',
      'UDP datagrams each ingest worker thread received (max-workers >= 2 or flush-thread): how evenly the kernel spreads senders.',
      ['worker'],
      () => (src.workerDatagrams?.() ?? []).map((n, i) => [{ worker: String(i) }, n]),
    );
    mirror(
      'ingest_worker_restarts_total',
      'Ingest worker threads that exited on their own and were started again (what each had received since the last flush is lost).',
      [],
      () => [[{}, src.workerRestarts?.() ?? 0]],
    );
    new Counter({
      name: p + 'udp_receive_drops_total',
      help: 'Datagrams the kernel dropped on the UDP socket because its receive buffer was full (/proc/net/udp).',
      registers,
      collect() {
        this.reset();
        const n = src.udpKernelDrops?.();
        if (n !== undefined) this.inc(n);
      },
    });
    new Gauge({
      name: p + 'series',
      help: 'Live series held by the aggregator, by type.',
      labelNames: ['type'],
      registers,
      collect() {
        const c = src.seriesCount();
        for (const k of KINDS) this.set({ type: k }, c[k]);
      },
    });
    new Gauge({
      name: p + 'build_info',
      help: 'Always 1; the version label tells the running version.',
      labelNames: ['version'],
      registers,
    }).set({ version: src.version }, 1);
    this.udpReceiveBuffer = new Gauge({
      name: p + 'udp_receive_buffer_bytes',
      help: 'SO_RCVBUF of the UDP socket as the kernel reports it (on Linux twice the buffer it granted).',
      registers,
    });
    this.flushDuration = new Histogram({
      name: p + 'flush_duration_seconds',
      help: 'Time from the flush tick until every backend finished (or timed out).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.flushes = new Counter({ name: p + 'flushes_total', help: 'Flushes run.', registers });
    this.backendFlushes = new Counter({
      name: p + 'backend_flushes_total',
      help: 'Intervals per backend by result: success, failure, timeout, skipped (replaced by a newer one while the backend was busy) or merged (coalesced into the next one).',
      labelNames: ['backend', 'result'],
      registers,
    });
    this.#backendOverdue = new Gauge({
      name: p + 'backend_overdue_flushes',
      help: 'Deliveries past their deadline that the backend has not settled yet (it gets no other interval until it does).',
      labelNames: ['backend'],
      registers,
    });
    this.#snapshotsHeld = new Gauge({
      name: p + 'snapshots_held',
      help: 'Flush snapshots that some backend has not finished with yet.',
      registers,
    });
    this.#freshSnapshots = new Counter({
      name: p + 'snapshots_fresh_total',
      help: 'Snapshots built from new memory because a backend still held an earlier one (otherwise the previous one is refreshed in place).',
      registers,
    });
    this.#ticksDeferred = new Counter({
      name: p + 'flush_ticks_deferred_total',
      help: 'Flush ticks that took no cut because every backend was still busy with an earlier interval; their data went out with the next cut.',
      registers,
    });
    this.#sendErrors = new Counter({
      name: p + 'backend_send_errors_total',
      help: 'Backend send errors by errno-style code.',
      labelNames: ['backend', 'code'],
      registers,
    });
    this.#dropped = new Counter({
      name: p + 'backend_items_dropped_total',
      help: 'Items a backend could not deliver, by reason.',
      labelNames: ['backend', 'reason'],
      registers,
    });
    this.#leftOut = new Counter({
      name: p + 'backend_series_left_out_total',
      help: 'Series a backend left out of its output, by reason (series; each counts once per interval in which it received samples, not again while reported idle).',
      labelNames: ['backend', 'reason'],
      registers,
    });
    this.#leftOutNow = new Gauge({
      name: p + 'backend_series_left_out',
      help: 'Series a backend left out of its last flush, idle ones included (series).',
      labelNames: ['backend'],
      registers,
    });
    this.#datagramsSent = new Counter({
      name: p + 'backend_datagrams_sent_total',
      help: 'Datagrams (or writes) a backend handed to the OS.',
      labelNames: ['backend'],
      registers,
    });
    this.#itemsSent = new Counter({
      name: p + 'backend_items_sent_total',
      help: 'Items a backend handed to the OS.',
      labelNames: ['backend'],
      registers,
    });
    this.#backendFlushDuration = new Histogram({
      name: p + 'backend_flush_duration_seconds',
      help: 'Time one backend instance took to deliver one interval (until it settled, or its deadline).',
      labelNames: ['backend'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#requestDuration = new Histogram({
      name: p + 'backend_request_duration_seconds',
      help: 'Time of each HTTP attempt of the backends that POST (forwarder, prometheus-remote-write), answered or failed.',
      labelNames: ['backend'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#configReloads = new Counter({
      name: p + 'config_reloads_total',
      help: 'Configuration reloads by result (success: applied; failure: rejected, old config kept).',
      labelNames: ['result'],
      registers,
    });
    this.#configReloads.inc({ result: 'success' }, 0);
    this.#configReloads.inc({ result: 'failure' }, 0);
    this.#configInfo = new Gauge({
      name: p + 'config_info',
      help: 'Always 1; hash (sha256 prefix of the document) and source of the configuration in force.',
      labelNames: ['hash', 'source'],
      registers,
    });
    this.#configLastReloadOk = new Gauge({
      name: p + 'config_last_reload_successful',
      help: '1 if the last reload attempt was applied, 0 if it was rejected.',
      registers,
    });
    this.#configLastReloadOk.set(1);
    this.#configLastSuccess = new Gauge({
      name: p + 'config_last_reload_success_timestamp_seconds',
      help: 'Unix time the configuration in force was applied.',
      registers,
    });
    this.#configSourceErrors = new Counter({
      name: p + 'config_source_errors_total',
      help: 'Failures reading the config source (file unreadable, ConfigMap watch failed); the config in force stays.',
      labelNames: ['source'],
      registers,
    });
    for (const name of DEFAULT_METRICS)
      (require(`prom-client/lib/metrics/${name}`) as DefaultMetric)(this.registry, {
        prefix: p,
        eventLoopMonitoringPrecision: 10,
      });
    processCpuCounters(p, registers);
  }

  /** Counts a failure to read the config source (`file` or `configmap`). */
  configSourceError(source: string): void {
    this.#configSourceErrors.inc({ source });
  }

  /** Records the configuration now in force (start-up or a successful reload). */
  configApplied(hash: string, source: string, reload: boolean, unixSeconds: number): void {
    this.#configInfo.reset();
    this.#configInfo.set({ hash, source }, 1);
    Object.assign(this.configFacts, { hash, source, appliedAt: unixSeconds, lastReloadOk: true });
    if (reload) this.configFacts.reloads++;
    this.#configLastSuccess.set(unixSeconds);
    this.#configLastReloadOk.set(1);
    if (reload) this.#configReloads.inc({ result: 'success' });
  }

  /** Records a rejected reload (the old configuration keeps running). */
  configRejected(): void {
    this.#configReloads.inc({ result: 'failure' });
    this.#configLastReloadOk.set(0);
    this.configFacts.lastReloadOk = false;
  }

  /** What the flusher reports. */
  flusher(): FlusherMetrics {
    return {
      flushed: (seconds) => {
        this.flushes.inc();
        this.flushDuration.observe(seconds);
      },
      backendResult: (backend, result) => {
        this.backendFlushes.inc({ backend, result });
        const f = this.#facts(backend);
        f.results[result] = (f.results[result] ?? 0) + 1;
        f.last = { result, seconds: f.last?.seconds ?? 0 };
      },
      backendDuration: (backend, seconds) => {
        this.#backendFlushDuration.observe({ backend }, seconds);
        const f = this.#facts(backend);
        f.last = { result: f.last?.result ?? '', seconds };
      },
      overdue: (backend, delta) => this.#backendOverdue.inc({ backend }, delta),
      snapshotsHeld: (n) => this.#snapshotsHeld.set(n),
      freshSnapshot: () => this.#freshSnapshots.inc(),
      tickDeferred: () => this.#ticksDeferred.inc(),
      intervalDropped: (backend, reason, snapshot) => {
        const n = seriesOf(snapshot);
        if (n > 0) this.#dropped.inc({ backend, reason }, n);
      },
    };
  }

  /** The accounting handle for one backend instance. */
  #facts(backend: string): BackendFacts {
    let f = this.backendFacts.get(backend);
    if (f === undefined) {
      f = { results: {}, last: undefined, sendErrors: 0, lastErrorCode: undefined, dropped: 0, leftOutAtFlush: 0 };
      this.backendFacts.set(backend, f);
    }
    return f;
  }

  backend(name: string): BackendMetrics {
    const facts = this.#facts(name);
    // Every backend has the gauge; one that never leaves a series out keeps 0.
    this.#leftOutNow.set({ backend: name }, facts.leftOutAtFlush);
    return {
      sendError: (code) => {
        this.#sendErrors.inc({ backend: name, code });
        facts.sendErrors++;
        facts.lastErrorCode = code;
      },
      dropped: (reason, count) => {
        if (count > 0) this.#dropped.inc({ backend: name, reason }, count);
        facts.dropped += count;
      },
      sent: (datagrams, items) => {
        this.#datagramsSent.inc({ backend: name }, datagrams);
        this.#itemsSent.inc({ backend: name }, items);
      },
      requestDuration: (seconds) => this.#requestDuration.observe({ backend: name }, seconds),
      leftOut: (reason, series) => {
        if (series > 0) this.#leftOut.inc({ backend: name, reason }, series);
      },
      leftOutAtFlush: (series) => {
        this.#leftOutNow.set({ backend: name }, series);
        facts.leftOutAtFlush = series;
      },
    };
  }
}

/**
 * `process_cpu_user_seconds_total`, `process_cpu_system_seconds_total` and
 * `process_cpu_seconds_total`, as prom-client's default metrics define them: the
 * process's CPU time since it started (`process.cpuUsage()`), brought up to date at each scrape.
 */
function processCpuCounters(prefix: string, registers: Registry[]): void {
  let last = { user: 0, system: 0 };
  // Its collect sets all three (as prom-client's own does); registered first, like theirs.
  new Counter({
    name: prefix + 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      const user = (now.user - last.user) / 1e6;
      const sys = (now.system - last.system) / 1e6;
      last = now;
      this.inc(user);
      system.inc(sys);
      total.inc(user + sys);
    },
  });
  const system = new Counter({
    name: prefix + 'process_cpu_system_seconds_total',
    help: 'Total system CPU time spent in seconds.',
    registers,
  });
  const total = new Counter({
    name: prefix + 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers,
  });
}
