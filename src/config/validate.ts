import type { DebugEndpoints } from '../shared/debug-endpoints.js';
import type { GaugeDeltaRule } from '../ingest/ingester.js';
import type { ConfigIssue } from '../shared/errors.js';
import { Checker, isPlainObject, join } from '../shared/check.js';
import { KeyReader } from '../shared/config-key.js';
import type { DaemonConfig } from './config.js';
import { splitInstanceName, type ConfigCatalog } from './catalog.js';
import { DISABLED_SUB_METRIC_KEYS, FILTER_KEYS, SECTIONS, topLevelKeys } from './keys.js';
import type { FilterConfig } from '../ingest/filter.js';
import { POD_TAGS_SECTION, validatePodTags } from './pod-tags.js';
import type { EnvoyTagRules } from '../shared/envoy-tags.js';
import type { LogFormat } from '../shared/logger.js';

/** The most percent thresholds: one per integer part in [-100, 100]. */
const MAX_THRESHOLDS = 201;

/** Result of {@link validateConfig}: the config when there are no errors, and every issue. */
export interface ValidationResult {
  config: DaemonConfig | undefined;
  issues: ConfigIssue[];
}

/** The backend type of `server-mode = "forwarder"`, and gostatsd's name of its section. */
const FORWARDER = 'forwarder';
const HTTP_TRANSPORT = 'http-transport';
const SEPAGENT = 'sepagent';
/** gostatsd changes the default flush interval to 10 s when a newrelic backend is configured. */
const NEWRELIC_FLUSH_INTERVAL_MS = 10_000;
const isNewRelic = (name: string): boolean => splitInstanceName(name).type === 'newrelic';
const RENAMED: Record<string, string> = {
  flush_interval: 'flush-interval',
  max_workers: 'max-workers',
  metrics_addr: 'metrics-addr',
  percent_threshold: 'percent-threshold',
  expiry_interval: 'expiry-interval',
  default_tags: 'default-tags',
  web_addr: 'web-addr',
  backend: 'backends',
  percentiles: 'percent-threshold',
};

/**
 * Validates a merged raw document (defaults not yet applied; keys lower-cased) and
 * returns the typed config plus EVERY problem found, each with its key path. Component
 * sections are validated by the validators in `catalog`; `[pod-tags]` reads the Downward
 * API variables in `env` and its files. Never throws.
 */
export function validateConfig(
  raw: Record<string, unknown>,
  catalog: ConfigCatalog,
  env: NodeJS.ProcessEnv = {},
): ValidationResult {
  const c = new Checker();
  const rows = topLevelKeys(catalog);
  const read = new KeyReader(c, raw, rows);
  const sectionNames: string[] = [
    ...SECTIONS.own,
    ...catalog.backends.keys(),
    ...catalog.referenceOnlyBackends,
    ...SECTIONS.ignored,
  ];
  // A receiver's `keys` may name a section of its own as well (`http` for `[http.<name>]`).
  const receiverSections = [...catalog.receivers.values()].flatMap((r) => Object.values(r.keys));
  c.unknownKeys(raw, [...rows.map((k) => k.key), ...receiverSections, ...sectionNames], '', RENAMED);

  for (const k of rows) {
    if (k.noEffect && raw[k.key] !== undefined) {
      // Type-check anyway so typos in values are still caught.
      if (k.type === 'int') c.int(raw[k.key], k.key, 0, 0, Number.MAX_SAFE_INTEGER);
      else if (k.type === 'bool') c.bool(raw[k.key], k.key, false);
      else if (k.type === 'duration') c.duration(raw[k.key], k.key, 0, 0);
      else if (k.type === 'list') c.list(raw[k.key], k.key, []);
      else c.string(raw[k.key], k.key, '');
    }
  }
  for (const s of [...catalog.referenceOnlyBackends, ...SECTIONS.ignored]) {
    if (raw[s] !== undefined)
      c.warn(s, `section [${s}] belongs to a gostatsd feature this daemon does not provide; it is ignored`);
  }
  const forwarderMode = read.string('server-mode') === 'forwarder';
  const cloud = read.string('cloud-provider');
  if (cloud !== '') c.error('cloud-provider', `cloud providers are not supported, got "${cloud}"`);

  // `log-format` wins over gostatsd's `json`.
  const json: LogFormat = read.bool('json') ? 'json' : 'text';
  const logFormat = read.isSet('log-format') ? (read.string('log-format') as LogFormat) : json;

  let thresholdTexts = read.list('percent-threshold');
  const percentThresholds: number[] = [];
  // Names keep a threshold's integer part, in [-100, 100]: more than 201 cannot all be valid.
  if (thresholdTexts.length > MAX_THRESHOLDS) {
    c.error(
      'percent-threshold',
      `lists ${thresholdTexts.length} thresholds; at most ${MAX_THRESHOLDS} can have names of their own`,
    );
    thresholdTexts = [];
  }
  thresholdTexts.forEach((t, i) => {
    const path = thresholdTexts.length === 1 ? 'percent-threshold' : `percent-threshold[${i}]`;
    const v = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t.trim()) ? Number(t) : NaN;
    if (!Number.isFinite(v)) c.error(path, `"${t}" is not a number`);
    else if (v < -100 || v > 100) c.error(path, `${t} is outside [-100, 100]`);
    else percentThresholds.push(v);
  });
  // The gostatsd-style names (sepagent, stdout) use a threshold's integer part, so 99 and
  // 99.9 would both be written as `upper_99`: two different values under one name.
  const byLabel = new Map<number, number>();
  for (const t of percentThresholds) {
    const label = Math.trunc(t) + 0; // + 0: -0 and 0 are one label
    const other = byLabel.get(label);
    if (other === undefined) byLabel.set(label, t);
    else
      c.error(
        'percent-threshold',
        other === t
          ? `${t} is listed twice`
          : `${other} and ${t} would share the sub-metric names *_${label} (names use the integer part of a threshold); keep one`,
      );
  }

  const dsm = c.section(raw['disabled-sub-metrics'], 'disabled-sub-metrics') ?? {};
  c.unknownKeys(dsm, DISABLED_SUB_METRIC_KEYS, 'disabled-sub-metrics', { std: 'stddev', sum_squares: 'sum-squares' });
  const flag = (k: string): boolean => c.bool(dsm[k], `disabled-sub-metrics.${k}`, false);

  const filters = validateFilters(read);

  let backends = read.list('backends');
  if (forwarderMode) {
    if (raw['backends'] !== undefined && !(backends.length === 1 && backends[0] === FORWARDER))
      c.warn('backends', 'ignored with server-mode = "forwarder": metrics go only to the aggregation tier');
    backends = [FORWARDER];
  }
  const transport = raw[HTTP_TRANSPORT];
  let sections = raw;
  const sectionPaths: Record<string, string> = {};
  if (transport !== undefined) {
    if (raw[FORWARDER] !== undefined)
      c.error(HTTP_TRANSPORT, `set either [${HTTP_TRANSPORT}] (gostatsd's name) or [${FORWARDER}], not both`);
    else if (backends.includes(FORWARDER)) {
      sections = { ...raw, [FORWARDER]: transport };
      sectionPaths[FORWARDER] = HTTP_TRANSPORT;
    } else c.warn(HTTP_TRANSPORT, `ignored unless server-mode = "forwarder" or backends include "${FORWARDER}"`);
  }
  // sepagent-host / sepagent-port (flags, GSD_ variables) override the [sepagent] section.
  for (const [key, field] of [
    ['sepagent-host', 'host'],
    ['sepagent-port', 'port'],
  ] as const) {
    if (raw[key] === undefined) continue;
    if (!backends.includes(SEPAGENT)) {
      c.warn(key, `ignored: the ${SEPAGENT} backend is not selected`);
      continue;
    }
    const own = isPlainObject(sections[SEPAGENT]) ? sections[SEPAGENT] : {};
    sections = { ...sections, [SEPAGENT]: { ...own, [field]: raw[key] } };
  }
  const backendConfigs = validateBackends(c, sections, backends, catalog, sectionPaths);
  // In forwarder mode the daemon flushes at the forwarding interval (gostatsd's
  // [http-transport] flush-interval, read by the forwarder's own validator), so each
  // interval is one post.
  const forwarding = backendConfigs[FORWARDER];
  const flushIntervalMs =
    forwarderMode && isPlainObject(forwarding) && typeof forwarding['flushIntervalMs'] === 'number'
      ? forwarding['flushIntervalMs']
      : !read.isSet('flush-interval') && backends.some(isNewRelic)
        ? NEWRELIC_FLUSH_INTERVAL_MS
        : read.duration('flush-interval');
  const receivers: Record<string, unknown> = {};
  for (const [type, r] of catalog.receivers) {
    const settings = r.validate(read);
    if (settings !== undefined) receivers[type] = settings;
  }

  const config: DaemonConfig = {
    verbose: read.bool('verbose'),
    logFormat,
    receivers,
    webAddr: read.address('web-addr'),
    backends,
    backendConfigs,
    flushIntervalMs,
    maxWorkers: read.int('max-workers'),
    flushThread: read.bool('flush-thread'),
    percentThresholds,
    maxSeries: read.int('max-series'),
    timerExactValues: read.int('timer-exact-values'),
    timerMaxBuckets: read.int('timer-max-buckets'),
    expiry: {
      counterMs: read.duration('expiry-interval-counter'),
      gaugeMs: read.duration('expiry-interval-gauge'),
      setMs: read.duration('expiry-interval-set'),
      timerMs: read.duration('expiry-interval-timer'),
    },
    defaultTags: read.list('default-tags'),
    podTags: validatePodTags(c, raw[POD_TAGS_SECTION], env),
    namespace: read.string('namespace'),
    ignoreHost: read.bool('ignore-host'),
    containerIdTag: read.bool('container-id-tag'),
    gaugeDeltas: read.string('gauge-deltas') as GaugeDeltaRule,
    istioNames: read.bool('istio-names'),
    envoyTagExtraction: read.string('envoy-tag-extraction') as EnvoyTagRules,
    filters,
    disabledPercentiles: {
      count: flag('count-pct'),
      mean: flag('mean-pct'),
      sum: flag('sum-pct'),
      sumSquares: flag('sum-squares-pct'),
      lower: flag('lower-pct'),
      upper: flag('upper-pct'),
    },
    disabledSubMetrics: {
      count: flag('count'),
      countPerSecond: flag('count-per-second'),
      mean: flag('mean'),
      median: flag('median'),
      lower: flag('lower'),
      upper: flag('upper'),
      stddev: flag('stddev'),
      sum: flag('sum'),
      sumSquares: flag('sum-squares'),
    },
    badLinesPerMinute: read.int('bad-lines-per-minute'),
    debugEndpoints: read.string('debug-endpoints') as DebugEndpoints,
    hostname: read.string('hostname'),
    shutdownTimeoutMs: read.duration('shutdown-timeout'),
  };
  const ok = !c.issues.some((i) => i.severity === 'error');
  return { config: ok ? config : undefined, issues: c.issues };
}

function validateFilters(read: KeyReader): FilterConfig[] {
  const c = read.c;
  const names = read.list('filters');
  const sections = c.section(read.raw('filter'), 'filter') ?? {};
  const out: FilterConfig[] = [];
  for (const [name, body] of Object.entries(sections)) {
    const path = join('filter', name);
    if (!isPlainObject(body)) {
      c.error(path, 'must be a section with match-metrics, drop-tags, …');
      continue;
    }
    c.unknownKeys(body, FILTER_KEYS, path);
    if (!names.includes(name))
      c.warn(path, `filter "${name}" is defined but not listed in "filters"; it is not applied`);
  }
  names.forEach((name) => {
    const body = sections[name];
    if (!isPlainObject(body)) {
      c.error('filters', `filter "${name}" has no [filter.${name}] section`);
      return;
    }
    const path = join('filter', name);
    out.push({
      name,
      matchMetrics: c.list(body['match-metrics'], `${path}.match-metrics`, []),
      excludeMetrics: c.list(body['exclude-metrics'], `${path}.exclude-metrics`, []),
      matchTags: c.list(body['match-tags'], `${path}.match-tags`, []),
      dropTags: c.list(body['drop-tags'], `${path}.drop-tags`, []),
      dropMetric: c.bool(body['drop-metric'], `${path}.drop-metric`, false),
      dropHost: c.bool(body['drop-host'], `${path}.drop-host`, false),
    });
  });
  return out;
}

const INSTANCE = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Validates every selected backend instance with its type's validator. `sepagent` reads
 * `[sepagent]`; `sepagent.canary` reads `[sepagent.canary]` (a sub-section of
 * `[sepagent]`, which is not passed to the base instance). Sections of backends that are
 * not selected are still checked, so typos show early. `sectionPaths` names a section
 * read under another name (gostatsd's `[http-transport]` for `forwarder`).
 */
function validateBackends(
  c: Checker,
  raw: Record<string, unknown>,
  backends: string[],
  catalog: ConfigCatalog,
  sectionPaths: Record<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  /** Instance names per type, so the base section can leave their sub-sections out. */
  const instancesOf = new Map<string, Set<string>>();
  for (const name of backends) {
    const { type, instance } = splitInstanceName(name);
    if (instance !== '') instancesOf.set(type, (instancesOf.get(type) ?? new Set()).add(instance));
  }
  const baseSection = (type: string): unknown => {
    const body = raw[type];
    const instances = instancesOf.get(type);
    if (!isPlainObject(body) || instances === undefined) return body;
    return Object.fromEntries(Object.entries(body).filter(([k]) => !instances.has(k)));
  };
  backends.forEach((name, i) => {
    const path = backends.length === 1 ? 'backends' : `backends[${i}]`;
    if (seen.has(name)) c.error(path, `backend "${name}" is listed twice`);
    seen.add(name);
    const { type, instance } = splitInstanceName(name);
    const validator = catalog.backends.get(type);
    if (validator === undefined) {
      const known = [...catalog.backends.keys()].join(', ');
      c.error(
        path,
        catalog.referenceOnlyBackends.includes(type)
          ? `backend "${type}" is not available in this version (available: ${known})`
          : `unknown backend "${type}" (available: ${known})`,
      );
      return;
    }
    if (instance !== '' && !INSTANCE.test(instance)) {
      c.error(path, `"${name}": an instance name is the type, ".", then lower-case letters, digits, "-" or "_"`);
      return;
    }
    let section: unknown;
    if (instance === '') section = baseSection(type);
    else {
      const parent = raw[type];
      section = isPlainObject(parent) ? parent[instance] : undefined;
      if (section !== undefined && !isPlainObject(section)) {
        c.error(name, `must be a section ([${name}]) holding the settings of backend instance "${name}"`);
        section = undefined;
      }
    }
    out[name] = validator.validate(section, sectionPaths[name] ?? name, c.issues);
  });
  for (const [type, validator] of catalog.backends) {
    const unselected = !seen.has(type) && raw[type] !== undefined;
    if (unselected && (!instancesOf.has(type) || hasOwnKeys(baseSection(type))))
      validator.validate(baseSection(type), type, c.issues);
  }
  return out;
}

function hasOwnKeys(v: unknown): boolean {
  return isPlainObject(v) && Object.keys(v).length > 0;
}
