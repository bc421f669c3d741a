/** Value kinds of top-level keys. */
export type KeyType = 'string' | 'bool' | 'int' | 'bytes' | 'duration' | 'list' | 'address';

/** How a key reacts to a config reload. */
export type Reload = 'live' | 'restart';

/** One top-level setting: a flag, a `GSD_` environment variable and a config-file key. */
export interface KeySpec {
  /** Key as written in files and as the flag name (`flush-interval`). */
  readonly key: string;
  readonly type: KeyType;
  /** Default as shown in --help and docs. */
  readonly shown: string;
  /** --help group. */
  readonly group: 'Listeners' | 'Aggregation' | 'Backends' | 'Logging' | 'Operation' | 'Compatibility';
  readonly describe: string;
  readonly reload: Reload;
  /** Accepted so gostatsd files keep loading, but has no effect here. */
  readonly noEffect?: true;
}

const NO_EFFECT = 'Accepted for gostatsd compatibility; no effect';
const SELF_METRICS = 'Accepted; self-metrics are served on /metrics instead';

/** Keys of the reference that are accepted, type-checked and otherwise ignored. */
function compat(rows: Array<[string, KeyType, string, string]>): KeySpec[] {
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

/** Every top-level key, in the order --help and docs/config.md list them. */
export const KEYS: readonly KeySpec[] = [
  {
    key: 'metrics-addr',
    type: 'address',
    shown: '127.0.0.1:8125',
    group: 'Listeners',
    reload: 'restart',
    describe: 'UDP address for StatsD datagrams; loopback by default (":8125" = every interface, IPv4 and IPv6)',
  },
  {
    key: 'tcp-addr',
    type: 'address',
    shown: '"" (off)',
    group: 'Listeners',
    reload: 'restart',
    describe: 'TCP address for newline-delimited StatsD; empty disables it',
  },
  {
    key: 'tcp-max-line-length',
    type: 'bytes',
    shown: '65536',
    group: 'Listeners',
    reload: 'restart',
    describe: 'Longest TCP line in bytes; longer lines are dropped and counted',
  },
  {
    key: 'tcp-max-connections',
    type: 'int',
    shown: '1024',
    group: 'Listeners',
    reload: 'restart',
    describe:
      'Most TCP connections open at once; more are closed at once and counted (connections_closed_total{reason="limit"})',
  },
  {
    key: 'tcp-idle-timeout',
    type: 'duration',
    shown: '1m',
    group: 'Listeners',
    reload: 'restart',
    describe:
      'A TCP connection that sends nothing for this long is closed and counted (connections_closed_total{reason="timeout"}); 0 = never',
  },
  {
    key: 'unix-socket',
    type: 'string',
    shown: '"" (off)',
    group: 'Listeners',
    reload: 'restart',
    describe:
      'Unix domain datagram socket for StatsD/DogStatsD (e.g. /var/run/statsd/dsd.socket); a stale file is replaced, the file is removed at exit',
  },
  {
    key: 'unix-socket-mode',
    type: 'string',
    shown: '0620',
    group: 'Listeners',
    reload: 'restart',
    describe: 'Permissions of the socket file (octal); clients need write permission',
  },
  {
    key: 'unix-socket-origin-detection',
    type: 'bool',
    shown: 'false',
    group: 'Listeners',
    reload: 'restart',
    describe:
      "Tag lines with the sending container's id (container_id:…) from the sender's pid (SO_PASSCRED) and /proc/<pid>/cgroup, where the pid is visible",
  },
  {
    key: 'receive-buffer-size',
    type: 'bytes',
    shown: '8MiB',
    group: 'Listeners',
    reload: 'restart',
    describe: 'Requested socket receive buffer of the UDP and Unix socket receivers (capped by net.core.rmem_max)',
  },
  {
    key: 'udp-receiver',
    type: 'string',
    shown: 'auto',
    group: 'Listeners',
    reload: 'restart',
    describe:
      'How UDP is read: "batch" (recvmmsg(2) in batches, Linux, needs the built native module), "dgram" (node:dgram) or "auto" (batch when available)',
  },
  {
    key: 'web-addr',
    type: 'address',
    shown: '127.0.0.1:8181',
    group: 'Listeners',
    reload: 'restart',
    describe: 'HTTP address for /metrics, /healthcheck, /healthz, /readyz; empty disables it',
  },
  {
    key: 'http-servers',
    type: 'list',
    shown: '"" (none)',
    group: 'Listeners',
    reload: 'restart',
    describe:
      'Space-separated names of gostatsd-style HTTP servers, each set up by its [http.<name>] section (address, enable-ingestion for /v2/raw, enable-healthcheck)',
  },
  {
    key: 'backends',
    type: 'list',
    shown: 'stdout',
    group: 'Backends',
    reload: 'live',
    describe:
      'Space-separated backend instances: a type (sepagent, prometheus, prometheus-remote-write, graphite, statsdaemon, datadog, newrelic, cloudwatch, forwarder, stdout, null), or type.name for another instance of it with its own [type.name] section',
  },
  {
    key: 'sepagent-host',
    type: 'string',
    shown: '[sepagent] host',
    group: 'Backends',
    reload: 'live',
    describe: 'Overrides host of the [sepagent] section (one sidecar pointing at its own agent)',
  },
  {
    key: 'sepagent-port',
    type: 'int',
    shown: '[sepagent] port',
    group: 'Backends',
    reload: 'live',
    describe: 'Overrides port of the [sepagent] section',
  },
  {
    key: 'flush-interval',
    type: 'duration',
    shown: '1s',
    group: 'Aggregation',
    reload: 'live',
    describe: 'How often aggregates are flushed (Go duration: 10s, 500ms, 1m)',
  },
  {
    key: 'max-workers',
    type: 'int',
    shown: 'number of CPUs',
    group: 'Aggregation',
    reload: 'restart',
    describe: 'Aggregation shards; backends always get one consolidated flush',
  },
  {
    key: 'percent-threshold',
    type: 'list',
    shown: '90',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Space-separated timer percentiles in [-100, 100]; negative = top values',
  },
  {
    key: 'max-series',
    type: 'int',
    shown: '200000',
    group: 'Aggregation',
    reload: 'live',
    describe:
      'Cap on live series (all types); samples that would create more are dropped and counted (series_dropped_total); 0 = no cap',
  },
  {
    key: 'expiry-interval',
    type: 'duration',
    shown: '5m',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Idle series are reported (as 0 / last value) until they expire; 0 = never',
  },
  {
    key: 'expiry-interval-counter',
    type: 'duration',
    shown: 'expiry-interval',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Expiry for counters',
  },
  {
    key: 'expiry-interval-gauge',
    type: 'duration',
    shown: 'expiry-interval',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Expiry for gauges',
  },
  {
    key: 'expiry-interval-set',
    type: 'duration',
    shown: 'expiry-interval',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Expiry for sets',
  },
  {
    key: 'expiry-interval-timer',
    type: 'duration',
    shown: 'expiry-interval',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Expiry for timers',
  },
  {
    key: 'default-tags',
    type: 'list',
    shown: '""',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Space-separated tags added to every metric and event',
  },
  {
    key: 'namespace',
    type: 'string',
    shown: '""',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Prefix added as "<namespace>." to every metric name',
  },
  {
    key: 'ignore-host',
    type: 'bool',
    shown: 'false',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Do not key series by sender IP; take the host from a "host:" tag instead',
  },
  {
    key: 'container-id-tag',
    type: 'bool',
    shown: 'false',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Tag metrics with "container_id:<id>" from a DogStatsD 1.2 "|c:<id>" field',
  },
  {
    key: 'istio-names',
    type: 'bool',
    shown: 'false',
    group: 'Aggregation',
    reload: 'restart',
    describe:
      'Keep "|" inside metric names as Istio\'s Envoy writes them (cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_200) instead of deleting it',
  },
  {
    key: 'envoy-tag-extraction',
    type: 'string',
    shown: 'off',
    group: 'Backends',
    reload: 'live',
    describe:
      "Turn Envoy name segments (cluster name, response code, listener address, …) into tags for tag-aware backends: off, envoy (Envoy's default rules) or istio (cluster names with dots); SepAgent keeps the full names",
  },
  {
    key: 'filters',
    type: 'list',
    shown: '""',
    group: 'Aggregation',
    reload: 'live',
    describe: 'Space-separated names of [filter.<name>] sections to apply',
  },
  {
    key: 'bad-lines-per-minute',
    type: 'int',
    shown: '0',
    group: 'Logging',
    reload: 'live',
    describe: 'Log up to this many rejected lines per minute (they are always counted)',
  },
  { key: 'verbose', type: 'bool', shown: 'false', group: 'Logging', reload: 'live', describe: 'Debug logging' },
  {
    key: 'log-format',
    type: 'string',
    shown: 'json',
    group: 'Logging',
    reload: 'restart',
    describe: 'Log format: json or text',
  },
  {
    key: 'json',
    type: 'bool',
    shown: 'unset',
    group: 'Logging',
    reload: 'restart',
    describe: 'gostatsd name: true = json logs, false = text logs (log-format wins)',
  },
  {
    key: 'config-path',
    type: 'string',
    shown: '""',
    group: 'Operation',
    reload: 'restart',
    describe:
      'Config file (.toml, .yaml/.yml or .json); keys as in the gostatsd fork. Watched: edits apply live (SIGHUP forces a reload)',
  },
  {
    key: 'configmap',
    type: 'string',
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
    shown: 'OS hostname',
    group: 'Operation',
    reload: 'restart',
    describe: 'Host name used in logs',
  },
  {
    key: 'shutdown-timeout',
    type: 'duration',
    shown: '10s',
    group: 'Operation',
    reload: 'live',
    describe: 'Deadline for the final flush after SIGTERM/SIGINT',
  },
  {
    key: 'server-mode',
    type: 'string',
    shown: 'standalone',
    group: 'Backends',
    reload: 'restart',
    describe:
      '"standalone" (aggregate and flush to the backends) or "forwarder" (send raw intervals to an aggregation tier: the forwarder backend alone, set up by [http-transport])',
  },
  {
    key: 'cloud-provider',
    type: 'string',
    shown: '""',
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

/** The environment variable of a key: `GSD_` + upper case, `-` → `_`. */
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

export function envName(key: string): string {
  return 'GSD_' + key.toUpperCase().replaceAll('-', '_');
}
