import os from 'node:os';
import { shownDefault, type KeySpec, type KeyType } from '../shared/config-key.js';
import { ENVOY_TAG_RULES } from '../shared/envoy-tags.js';
import { LOG_FORMATS } from '../shared/logger.js';
import { GAUGE_DELTA_RULES } from '../ingest/ingester.js';
import { DEBUG_ENDPOINTS } from '../shared/debug-endpoints.js';
import { DEFAULT_EXACT_LIMIT, DEFAULT_MAX_BUCKETS, MAX_BUCKETS, MIN_BUCKETS } from '../aggregator/folded-timer.js';
import type { ConfigCatalog } from './catalog.js';
import type { DaemonConfig } from './config.js';

export type { KeySpec, KeyType, Reload } from '../shared/config-key.js';

/** A row of the daemon's own keys: its `field` is a field of {@link DaemonConfig}. */
export interface CoreKeySpec extends KeySpec {
  readonly field?: keyof DaemonConfig;
}

const NO_EFFECT = 'Accepted for gostatsd compatibility; no effect';
const SELF_METRICS = 'Accepted; self-metrics are served on /metrics instead';

/** Keys of the reference that are accepted, type-checked and otherwise ignored. */
function compat(rows: Array<[string, KeyType, string, string]>): CoreKeySpec[] {
  return rows.map(([key, type, shown, describe]) => ({
    key,
    type,
    shown,
    group: 'Compatibility',
    reload: 'restart',
    noEffect: true,
    describe,
  }));
}

/**
 * The daemon's own top-level keys, in the order --help and docs/config.md list them (the
 * receivers declare theirs: {@link topLevelKeys}). The one declaration of each key: the
 * validator reads values through it ({@link KeyReader}), flags, `GSD_` variables, --help,
 * the reload plan, docs/config.md and the chart's schema are derived from it.
 */
export const KEYS: readonly CoreKeySpec[] = [
  {
    key: 'web-addr',
    type: 'address',
    default: '127.0.0.1:8181',
    emptyIsOff: true,
    field: 'webAddr',
    group: 'Listeners',
    reload: 'restart',
    describe: 'HTTP address for /metrics, /healthcheck, /healthz, /readyz; empty disables it',
  },
  {
    key: 'backends',
    type: 'list',
    default: 'stdout',
    field: 'backends',
    group: 'Backends',
    reload: 'live',
    describe:
      'Space-separated backend instances: a type (sepagent, prometheus, prometheus-remote-write, graphite, statsdaemon, datadog, newrelic, cloudwatch, forwarder, stdout, null), or type.name for another instance of it with its own [type.name] section',
  },
  {
    key: 'sepagent-host',
    type: 'string',
    shown: '[sepagent] host',
    field: 'backendConfigs',
    group: 'Backends',
    reload: 'live',
    describe: 'Overrides host of the [sepagent] section (one sidecar pointing at its own agent)',
  },
  {
    key: 'sepagent-port',
    type: 'int',
    shown: '[sepagent] port',
    field: 'backendConfigs',
    group: 'Backends',
    reload: 'live',
    describe: 'Overrides port of the [sepagent] section',
  },
  {
    key: 'flush-interval',
    type: 'duration',
    default: '1s',
    min: 10,
    field: 'flushIntervalMs',
    group: 'Aggregation',
    reload: 'live',
    describe:
      'How often aggregates are flushed (Go duration: 10s, 500ms, 1m); unset with a newrelic backend selected it is 10s, as in gostatsd',
  },
  {
    key: 'max-workers',
    type: 'int',
    default: '1',
    min: 1,
    max: 64,
    field: 'maxWorkers',
    group: 'Aggregation',
    reload: 'restart',
    describe:
      'UDP ingest threads: 1 receives on the main thread; N >= 2 runs N worker threads, each reading its own SO_REUSEPORT socket on metrics-addr, merged into one consolidated flush',
  },
  {
    key: 'flush-thread',
    type: 'bool',
    default: 'false',
    field: 'flushThread',
    group: 'Aggregation',
    reload: 'restart',
    describe:
      'Flush apart from UDP ingest: with max-workers = 1, UDP is read and aggregated on an ingest thread of its own and the main thread computes, encodes and delivers every flush, so no backend delays reading (always so with max-workers >= 2)',
  },
  {
    key: 'percent-threshold',
    type: 'list',
    default: '90',
    field: 'percentThresholds',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Space-separated timer percentiles in [-100, 100]; negative = top values',
  },
  {
    key: 'max-series',
    type: 'int',
    default: '200000',
    max: 1_000_000_000,
    field: 'maxSeries',
    group: 'Aggregation',
    reload: 'live',
    describe:
      'Cap on live series (all types); samples that would create more are dropped and counted (series_dropped_total); 0 = no cap',
  },
  {
    key: 'timer-exact-values',
    type: 'int',
    default: String(DEFAULT_EXACT_LIMIT),
    max: 100_000_000,
    field: 'timerExactValues',
    group: 'Aggregation',
    reload: 'live',
    describe:
      "Values a timer series keeps exactly per interval; past that its values fold into a base-2 exponential histogram (count, sum, sum of squares, min and max stay exact; percentiles within the histogram's relative error), so its memory stays bounded whatever the rate; 0 = keep every value. A forwarder sends the histogram to a statsd-sepagent tier (a gostatsd tier reads only representatives)",
  },
  {
    key: 'timer-max-buckets',
    type: 'int',
    default: String(DEFAULT_MAX_BUCKETS),
    min: MIN_BUCKETS,
    max: MAX_BUCKETS,
    field: 'timerMaxBuckets',
    group: 'Aggregation',
    reload: 'live',
    describe:
      "Buckets per sign of a folded timer's histogram (timer-exact-values); the scale drops as the range of values grows: 160 buckets span five decades within 4.4 %",
  },
  {
    key: 'expiry-interval',
    type: 'duration',
    default: '5m',
    field: 'expiry',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Idle series are reported (as 0 / last value) until they expire; 0 = never',
  },
  {
    key: 'expiry-interval-counter',
    type: 'duration',
    inherits: 'expiry-interval',
    field: 'expiry',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Expiry for counters',
  },
  {
    key: 'expiry-interval-gauge',
    type: 'duration',
    inherits: 'expiry-interval',
    field: 'expiry',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Expiry for gauges',
  },
  {
    key: 'expiry-interval-set',
    type: 'duration',
    inherits: 'expiry-interval',
    field: 'expiry',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Expiry for sets',
  },
  {
    key: 'expiry-interval-timer',
    type: 'duration',
    inherits: 'expiry-interval',
    field: 'expiry',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Expiry for timers',
  },
  {
    key: 'default-tags',
    type: 'list',
    default: '',
    field: 'defaultTags',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Space-separated tags added to every metric and event',
  },
  {
    key: 'namespace',
    type: 'string',
    default: '',
    field: 'namespace',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Prefix added as "<namespace>." to every metric name',
  },
  {
    key: 'ignore-host',
    type: 'bool',
    default: 'false',
    field: 'ignoreHost',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Do not key series by sender IP; take the host from a "host:" tag instead',
  },
  {
    key: 'container-id-tag',
    type: 'bool',
    default: 'false',
    field: 'containerIdTag',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Tag metrics with "container_id:<id>" from a DogStatsD 1.2 "|c:<id>" field',
  },
  {
    key: 'gauge-deltas',
    type: 'string',
    default: 'ignore',
    values: GAUGE_DELTA_RULES,
    field: 'gaugeDeltas',
    group: 'Aggregation',
    reload: 'live',
    describe:
      "What a signed gauge value (x:+3|g, x:-3|g) does: ignore = sets the gauge to +3 or -3 (the reference's rule); apply = adds it to the last value (Etsy statsd's and statsd_exporter's rule; send 0 first to set a negative value)",
  },
  {
    key: 'istio-names',
    type: 'bool',
    default: 'false',
    field: 'istioNames',
    group: 'Aggregation',
    reload: 'restart',
    describe:
      'Keep "|" inside metric names as Istio\'s Envoy writes them (cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_200) instead of deleting it',
  },
  {
    key: 'envoy-tag-extraction',
    type: 'string',
    default: 'off',
    values: ENVOY_TAG_RULES,
    field: 'envoyTagExtraction',
    group: 'Backends',
    reload: 'live',
    describe:
      "Turn Envoy name segments (cluster name, response code, listener address, …) into tags for tag-aware backends: off, envoy (Envoy's default rules) or istio (cluster names with dots); SepAgent keeps the full names",
  },
  {
    key: 'filters',
    type: 'list',
    default: '',
    field: 'filters',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Space-separated names of [filter.<name>] sections to apply',
  },
  {
    key: 'bad-lines-per-minute',
    type: 'int',
    default: '10',
    max: 1_000_000,
    field: 'badLinesPerMinute',
    group: 'Logging',
    reload: 'live',
    describe:
      'Log up to this many rejected lines per minute, each with its reason and its first 200 bytes (they are always counted); 0 = none',
  },
  {
    key: 'debug-endpoints',
    type: 'string',
    default: 'metrics',
    values: DEBUG_ENDPOINTS,
    field: 'debugEndpoints',
    group: 'Logging',
    reload: 'live',
    describe:
      'Which /debug/ paths of web-addr answer: metrics = /debug/metrics (per-metric statistics); tap = also /debug/tap, a live stream of received, rejected and unmatched lines (it shows the data itself); off = neither',
  },
  {
    key: 'verbose',
    type: 'bool',
    default: 'false',
    field: 'verbose',
    group: 'Logging',
    reload: 'live',
    describe: 'Debug logging',
  },
  {
    key: 'log-format',
    type: 'string',
    default: 'json',
    values: LOG_FORMATS,
    field: 'logFormat',
    group: 'Logging',
    reload: 'restart',
    describe: 'Log format: json or text',
  },
  {
    key: 'json',
    type: 'bool',
    default: 'true',
    shown: 'unset',
    field: 'logFormat',
    group: 'Logging',
    reload: 'restart',
    describe: 'gostatsd name: true = json logs, false = text logs (log-format wins)',
  },
  {
    key: 'config-path',
    type: 'string',
    default: '',
    group: 'Operation',
    reload: 'restart',
    describe:
      'Config file (.toml, .yaml/.yml or .json); keys as in the gostatsd fork. Watched: edits apply live (SIGHUP forces a reload)',
  },
  {
    key: 'configmap',
    type: 'string',
    default: '',
    shown: '"" (off)',
    group: 'Operation',
    reload: 'restart',
    describe: 'Kubernetes ConfigMap holding the config document; watched, edits apply live',
  },
  {
    key: 'configmap-namespace',
    type: 'string',
    shown: "the pod's namespace",
    group: 'Operation',
    reload: 'restart',
    describe: "Namespace of --configmap (default: POD_NAMESPACE, else the service account's, else the kubeconfig's)",
  },
  {
    key: 'configmap-key',
    type: 'string',
    shown: 'config.toml|yaml|json',
    group: 'Operation',
    reload: 'restart',
    describe: 'Key of --configmap holding the document (default: the first of config.toml, config.yaml, config.json)',
  },
  {
    key: 'kubeconfig',
    type: 'string',
    shown: 'in-cluster',
    group: 'Operation',
    reload: 'restart',
    describe: 'kubeconfig file for --configmap outside a cluster (default: KUBECONFIG, ~/.kube/config, in-cluster)',
  },
  {
    key: 'hostname',
    type: 'string',
    default: () => os.hostname(),
    shown: 'OS hostname',
    field: 'hostname',
    group: 'Operation',
    reload: 'restart',
    describe: 'Host name used in logs',
  },
  {
    key: 'shutdown-timeout',
    type: 'duration',
    default: '10s',
    min: 100,
    field: 'shutdownTimeoutMs',
    group: 'Operation',
    reload: 'live',
    describe: 'Deadline for the final flush after SIGTERM/SIGINT',
  },
  {
    key: 'server-mode',
    type: 'string',
    default: 'standalone',
    values: ['standalone', 'forwarder'],
    group: 'Backends',
    reload: 'restart',
    describe:
      '"standalone" (aggregate and flush to the backends) or "forwarder" (send raw intervals to an aggregation tier: the forwarder backend alone, set up by [http-transport])',
  },
  {
    key: 'cloud-provider',
    type: 'string',
    default: '',
    group: 'Compatibility',
    reload: 'restart',
    describe: 'Only "" (none) is supported',
  },
  ...compat([
    ['max-readers', 'int', 'min(8, CPUs)', NO_EFFECT],
    ['max-parsers', 'int', 'CPUs', NO_EFFECT],
    ['max-queue-size', 'int', '10000', NO_EFFECT],
    ['max-concurrent-events', 'int', '1024', NO_EFFECT],
    ['estimated-tags', 'int', '4', NO_EFFECT],
    ['receive-batch-size', 'int', '50', NO_EFFECT],
    ['conn-per-reader', 'bool', 'false', NO_EFFECT],
    ['profile', 'string', '""', NO_EFFECT],
    ['statser-type', 'string', 'internal', SELF_METRICS],
    ['internal-tags', 'list', '""', SELF_METRICS],
    ['internal-namespace', 'string', 'statsd', SELF_METRICS],
    ['heartbeat-enabled', 'bool', 'false', 'Accepted; /metrics has build_info instead'],
    ['max-cloud-requests', 'int', '10', NO_EFFECT],
    ['burst-cloud-requests', 'int', '15', NO_EFFECT],
    ['cloud-cache-refresh-period', 'duration', '1m', NO_EFFECT],
    ['cloud-cache-evict-after-idle-period', 'duration', '10m', NO_EFFECT],
    ['cloud-cache-ttl', 'duration', '30m', NO_EFFECT],
    ['cloud-cache-negative-ttl', 'duration', '1m', NO_EFFECT],
  ]),
];

/**
 * Config-file sections (tables) besides the components' own (backend sections come from
 * the catalog). Sections of gostatsd features this daemon lacks are accepted and ignored.
 */
export const SECTIONS = {
  own: ['disabled-sub-metrics', 'filter', 'http-transport', 'pod-tags'],
  ignored: ['aws', 'transport'],
};

/** `[disabled-sub-metrics]` keys. */
export const DISABLED_SUB_METRIC_KEYS = [
  'count',
  'count-per-second',
  'mean',
  'median',
  'lower',
  'upper',
  'stddev',
  'sum',
  'sum-squares',
  'count-pct',
  'mean-pct',
  'sum-pct',
  'sum-squares-pct',
  'lower-pct',
  'upper-pct',
] as const;

/** `[filter.<name>]` keys. */
export const FILTER_KEYS = [
  'match-metrics',
  'exclude-metrics',
  'match-tags',
  'drop-tags',
  'drop-metric',
  'drop-host',
] as const;

/**
 * Keys that say where the configuration comes from. They are read from flags and `GSD_`
 * variables only; a config document cannot redirect itself.
 */
export const SOURCE_KEYS: ReadonlySet<string> = new Set([
  'config-path',
  'configmap',
  'configmap-namespace',
  'configmap-key',
  'kubeconfig',
]);

/**
 * Fields of the config set by sections rather than keys, with the name a reload report
 * gives them and whether they reload live.
 */
export const SECTION_FIELDS: ReadonlyArray<{
  readonly field: keyof DaemonConfig;
  readonly key: string;
  readonly reload: 'live' | 'restart';
}> = [
  { field: 'backendConfigs', key: '[<backend>]', reload: 'live' },
  { field: 'podTags', key: 'pod-tags', reload: 'live' },
  { field: 'disabledPercentiles', key: 'disabled-sub-metrics', reload: 'live' },
  { field: 'disabledSubMetrics', key: 'disabled-sub-metrics', reload: 'live' },
  { field: 'receivers', key: '<receiver keys>', reload: 'restart' },
];

/**
 * Every top-level key of a build: each receiver's own (in registry order, a row shared
 * by two receivers once), then the daemon's.
 */
export function topLevelKeys(catalog: Pick<ConfigCatalog, 'receivers'>): readonly KeySpec[] {
  const rows = new Set<KeySpec>();
  for (const r of catalog.receivers.values()) for (const row of r.rows) rows.add(row);
  return [...rows, ...KEYS];
}

/** The line of docs/config.md's table for a key: key, type, default, reload, help text. */
export function docsRow(k: KeySpec): string {
  const cell = (s: string): string => s.replaceAll('|', '\\|');
  return `| \`${k.key}\` | ${k.type} | ${cell(shownDefault(k))} | ${k.reload} | ${cell(k.describe)} |`;
}

/** The environment variable of a key: `GSD_` + upper case, `-` → `_`. */
export function envName(key: string): string {
  return 'GSD_' + key.toUpperCase().replaceAll('-', '_');
}
