import { parseStructured } from '../../shared/documents.js';
import { Checker, describe, isPlainObject } from '../../shared/check.js';
import type { ConfigIssue } from '../../shared/errors.js';
import { compileRe2, type Re2Pattern } from '../shared/re2.js';

/**
 * statsd_exporter's mapping language (its `--statsd.mapping-config` YAML), read unchanged:
 * `defaults` and an ordered list of `mappings`, each matching StatsD names by glob (the
 * default) or regular expression and naming the Prometheus metric and its labels.
 *
 * Matching rules (docs/prometheus.md#mapping-files):
 * - glob rules are tried before regex rules, whatever their order in the file;
 * - among glob rules the first one in the file that matches wins (with
 *   `glob_disable_ordering: true`, literal components beat `*` instead);
 * - a glob `*` stands for one whole dot-separated component (possibly empty); a regex
 *   is searched for anywhere in the name unless anchored;
 * - `match_metric_type` restricts a rule to `counter`, `gauge` or `observer` (timers);
 * - `$1`, `${1}` (and, for regexes, `$name`, `${name}`) in `name` and label values are
 *   replaced by captures; an unknown reference becomes empty;
 * - a name no rule matches keeps its StatsD name with invalid characters escaped.
 */

/** How a timer becomes a Prometheus metric. */
export type ObserverType = 'histogram' | 'summary';
/** The StatsD metric types a rule can be restricted to. */
export type MatchMetricType = 'counter' | 'gauge' | 'observer';

/** One summary quantile with its allowed error. */
export interface Objective {
  readonly quantile: number;
  readonly error: number;
}

/** `summary_options`. */
export interface SummaryOptions {
  readonly quantiles: readonly Objective[];
  /** How far back quantiles look, ms (client_golang's default 10 minutes). */
  readonly maxAgeMs: number;
  /** Into how many buckets that window is cut (default 5). */
  readonly ageBuckets: number;
}

/**
 * statsd_exporter's `native_histogram_bucket_factor` and `native_histogram_max_buckets`,
 * resolved: the schema (the finest with a growth factor from one bucket to the next of at
 * most the factor: 1.1 gives 3) and the bucket limit per sign.
 */
export interface NativeHistogramOptions {
  readonly schema: number;
  readonly maxBuckets: number;
}

/** Bucket limit of a native histogram whose `native_histogram_max_buckets` is 0 (unset). */
export const NATIVE_DEFAULT_MAX_BUCKETS = 160;

/**
 * The native histogram schema of a bucket factor: the coarsest in [−4, 8] whose growth
 * factor `2^(2^−schema)` is at most the factor (1.1 gives 3, a factor of 1.0905).
 */
export function nativeSchema(factor: number): number {
  let schema = -4;
  while (schema < 8 && 2 ** (2 ** -schema) > factor) schema++;
  return schema;
}

/** What a mapping (or the absence of one) decides for a StatsD series. */
export interface MappingResult {
  readonly action: 'map' | 'drop';
  /** The metric name after capture expansion, before escaping; `''` when it expanded to nothing. */
  readonly name: string;
  /** Label pairs from the rule, in rule order. */
  readonly labels: ReadonlyArray<readonly [string, string]>;
  /** Whether labels from tags win over the rule's labels of the same name. */
  readonly honorLabels: boolean;
  readonly observerType: ObserverType;
  /** Histogram upper bounds, increasing. */
  readonly buckets: readonly number[];
  /** A native histogram besides the classic buckets (`native_histogram_bucket_factor` > 1). */
  readonly native: NativeHistogramOptions | undefined;
  readonly summary: SummaryOptions;
  /** Idle time after which the series leaves the exposition; 0 = never. */
  readonly ttlMs: number;
  readonly help: string;
  /** Factor every value is multiplied by (`scale`); 1 when unset. */
  readonly scale: number;
  /** Index of the rule in the file; -1 when no rule matched. */
  readonly rule: number;
}

/** prometheus/client_golang's default histogram buckets, statsd_exporter's default. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** statsd_exporter's default summary quantiles. */
export const DEFAULT_QUANTILES: readonly Objective[] = [
  { quantile: 0.5, error: 0.05 },
  { quantile: 0.9, error: 0.01 },
  { quantile: 0.99, error: 0.001 },
];
const DEFAULT_MAX_AGE_MS = 10 * 60_000;
const DEFAULT_AGE_BUCKETS = 5;

interface Rule {
  readonly index: number;
  readonly match: string;
  readonly glob: readonly string[] | undefined;
  readonly regex: Re2Pattern | undefined;
  readonly metricType: MatchMetricType | undefined;
  readonly name: string;
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly base: Omit<MappingResult, 'name' | 'labels'>;
}

/** A validated mapping file. */
export interface MappingConfig {
  readonly rules: readonly Rule[];
  readonly globOrdering: boolean;
  /** What a name no rule matches gets (observer type, buckets, quantiles, ttl from `defaults`). */
  readonly unmatched: Omit<MappingResult, 'name' | 'labels'>;
}

/** A problem in a mapping file; its path is the file's key followed by the YAML path (`mappings[2].labels`). */
export type MappingIssue = ConfigIssue;

/**
 * A glob's components, as statsd_exporter (0.22 and later) takes them: the first starts with
 * a letter or `_`, later ones may start with a digit (`svc.5xx`); dashes may repeat (`a--b`).
 */
const FIRST_COMPONENT = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;
const LATER_COMPONENT = /^[a-zA-Z0-9_][a-zA-Z0-9_-]*$/;
const METRIC_NAME_TEMPLATE = /^([a-zA-Z_]|\$\{?\d+\}?)([a-zA-Z0-9_]|\$\{?\d+\}?)*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const DEFAULTS_KEYS = [
  'observer_type',
  'timer_type',
  'buckets',
  'quantiles',
  'match_type',
  'glob_disable_ordering',
  'ttl',
  'summary_options',
  'histogram_options',
];
const MAPPING_KEYS = [
  'match',
  'name',
  'labels',
  'observer_type',
  'timer_type',
  'buckets',
  'quantiles',
  'match_type',
  'help',
  'action',
  'match_metric_type',
  'ttl',
  'summary_options',
  'histogram_options',
  'scale',
  'honor_labels',
];

/** The help text of series whose rule sets none. */
export const DEFAULT_HELP = 'Metric autogenerated by statsd-sepagent.';

/**
 * Parses a mapping file. Problems are appended to `issues` with paths under `prefix`;
 * the result is usable only when no error was added.
 */
export function parseMappingText(text: string, prefix: string, issues: MappingIssue[]): MappingConfig | undefined {
  const parsed = parseStructured(text, 'yaml');
  if (!parsed.ok) {
    issues.push({ path: prefix, severity: 'error', message: parsed.error });
    return undefined;
  }
  return parseMapping(parsed.value ?? {}, prefix, issues);
}

/** Validates a parsed mapping document. */
function parseMapping(raw: unknown, prefix: string, issues: MappingIssue[]): MappingConfig | undefined {
  const r = new Reader();
  const config = readMapping(raw, r);
  // Paths inside the file are shown after the file's own (`mapping-config: mappings[2].name`).
  for (const i of r.c.issues) issues.push({ ...i, path: i.path === '' ? prefix : `${prefix}: ${i.path}` });
  return r.c.issues.some((i) => i.severity === 'error') ? undefined : config;
}

function readMapping(raw: unknown, r: Reader): MappingConfig | undefined {
  const err = (path: string, message: string): void => r.c.error(path, message);
  const warn = (path: string, message: string): void => r.c.warn(path, message);
  if (!isPlainObject(raw)) {
    err('', `must be a mapping document with "mappings" (and optionally "defaults"), got ${describe(raw)}`);
    return undefined;
  }
  for (const k of Object.keys(raw)) if (k !== 'defaults' && k !== 'mappings') warn(k, 'unknown key, ignored');
  const d = isPlainObject(raw['defaults']) ? raw['defaults'] : {};
  if (raw['defaults'] !== undefined && !isPlainObject(raw['defaults'])) err('defaults', 'must be a map');
  for (const k of Object.keys(d)) if (!DEFAULTS_KEYS.includes(k)) warn(`defaults.${k}`, 'unknown key, ignored');

  const defObserver = r.observerType(d, 'defaults') ?? 'summary';
  const defHistogram = r.section(d['histogram_options'], 'defaults.histogram_options');
  const defSummary = r.section(d['summary_options'], 'defaults.summary_options');
  const defBuckets =
    r.buckets(defHistogram?.['buckets'], 'defaults.histogram_options.buckets') ??
    r.buckets(d['buckets'], 'defaults.buckets') ??
    DEFAULT_BUCKETS;
  const defNative = r.native(defHistogram, 'defaults.histogram_options');
  const defQuantiles =
    r.quantiles(defSummary?.['quantiles'], 'defaults.summary_options.quantiles') ??
    r.quantiles(d['quantiles'], 'defaults.quantiles') ??
    DEFAULT_QUANTILES;
  const defMaxAge = r.duration(defSummary?.['max_age'], 'defaults.summary_options.max_age') || DEFAULT_MAX_AGE_MS;
  const defAgeBuckets =
    r.count(defSummary?.['age_buckets'], 'defaults.summary_options.age_buckets') || DEFAULT_AGE_BUCKETS;
  const defMatchType = r.matchType(d['match_type'], 'defaults.match_type') ?? 'glob';
  const globDisableOrdering = r.bool(d['glob_disable_ordering'], 'defaults.glob_disable_ordering');
  const defTtl = r.duration(d['ttl'], 'defaults.ttl');

  const unmatched: MappingConfig['unmatched'] = {
    action: 'map',
    honorLabels: false,
    observerType: defObserver,
    buckets: defBuckets,
    native: defNative ?? undefined,
    summary: { quantiles: defQuantiles, maxAgeMs: defMaxAge, ageBuckets: defAgeBuckets },
    ttlMs: defTtl,
    help: DEFAULT_HELP,
    scale: 1,
    rule: -1,
  };

  const rules: Rule[] = [];
  const list = raw['mappings'] ?? [];
  if (!Array.isArray(list)) err('mappings', `must be a list, got ${describe(list)}`);
  (Array.isArray(list) ? list : []).forEach((m: unknown, i: number) => {
    const p = `mappings[${i}]`;
    if (!isPlainObject(m)) return err(p, `must be a map, got ${describe(m)}`);
    for (const k of Object.keys(m)) if (!MAPPING_KEYS.includes(k)) warn(`${p}.${k}`, 'unknown key, ignored');
    const match = r.string(m['match'], `${p}.match`);
    const name = r.string(m['name'], `${p}.name`);
    const action = r.c.oneOf(r.absent(m['action']), `${p}.action`, ['map', 'drop'], 'map', true);
    if (match === '') err(`${p}.match`, 'is required');
    if (name === '' && action !== 'drop') err(`${p}.name`, 'is required: the mapping sets no metric name');
    else if (name !== '' && action !== 'drop' && !METRIC_NAME_TEMPLATE.test(name))
      err(
        `${p}.name`,
        `"${name}" is not a metric name (letters, digits, _ and $n captures; not starting with a digit)`,
      );
    const labels: Array<[string, string]> = [];
    const rawLabels = m['labels'];
    if (rawLabels !== undefined && rawLabels !== null && !isPlainObject(rawLabels))
      err(`${p}.labels`, `must be a map of label name to value, got ${describe(rawLabels)}`);
    for (const [k, v] of Object.entries(isPlainObject(rawLabels) ? rawLabels : {})) {
      if (!LABEL_NAME.test(k)) err(`${p}.labels.${k}`, `"${k}" is not a valid label name`);
      labels.push([k, r.string(v, `${p}.labels.${k}`)]);
    }
    const matchType = r.matchType(m['match_type'], `${p}.match_type`) ?? defMatchType;
    let glob: string[] | undefined;
    let regex: Re2Pattern | undefined;
    if (match !== '') {
      if (matchType === 'glob') {
        glob = match.split('.');
        if (!glob.every((f, j) => f === '*' || (j === 0 ? FIRST_COMPONENT : LATER_COMPONENT).test(f)))
          err(`${p}.match`, `"${match}" is not a glob: dot-separated components of letters, digits, _ and -, or *`);
      } else {
        const re = compileRe2(match);
        if (typeof re === 'string') err(`${p}.match`, `invalid regular expression "${match}": ${re}`);
        else regex = re;
      }
    }
    const metricType = r.metricType(m['match_metric_type'], `${p}.match_metric_type`);
    const observerType = r.observerType(m, p);
    const histogram = r.section(m['histogram_options'], `${p}.histogram_options`);
    const summary = r.section(m['summary_options'], `${p}.summary_options`);
    if (m['buckets'] !== undefined && histogram?.['buckets'] !== undefined)
      err(p, 'sets buckets both at the top level and in histogram_options');
    if (m['quantiles'] !== undefined && summary?.['quantiles'] !== undefined)
      err(p, 'sets quantiles both at the top level and in summary_options');
    if (observerType === 'histogram' && summary !== undefined)
      err(p, 'cannot use the histogram observer type with summary_options');
    if (observerType === 'summary' && histogram !== undefined)
      err(p, 'cannot use the summary observer type with histogram_options');
    const buckets =
      r.buckets(histogram?.['buckets'], `${p}.histogram_options.buckets`) ??
      r.buckets(m['buckets'], `${p}.buckets`) ??
      defBuckets;
    const quantiles =
      r.quantiles(summary?.['quantiles'], `${p}.summary_options.quantiles`) ??
      r.quantiles(m['quantiles'], `${p}.quantiles`) ??
      defQuantiles;
    const scaleRaw = m['scale'];
    let scale = 1;
    if (scaleRaw !== undefined && scaleRaw !== null) {
      if (typeof scaleRaw === 'number' && Number.isFinite(scaleRaw)) scale = scaleRaw;
      else err(`${p}.scale`, `must be a number, got ${describe(scaleRaw)}`);
    }
    const help = r.string(m['help'], `${p}.help`);
    rules.push({
      index: i,
      match,
      glob,
      regex,
      metricType,
      name,
      labels,
      base: {
        action,
        honorLabels: r.bool(m['honor_labels'], `${p}.honor_labels`),
        observerType: observerType ?? defObserver,
        buckets,
        native:
          histogram === undefined
            ? (defNative ?? undefined)
            : (r.native(histogram, `${p}.histogram_options`) ?? defNative ?? undefined),
        summary: {
          quantiles,
          maxAgeMs: r.duration(summary?.['max_age'], `${p}.summary_options.max_age`) || defMaxAge,
          ageBuckets: r.count(summary?.['age_buckets'], `${p}.summary_options.age_buckets`) || defAgeBuckets,
        },
        ttlMs: r.duration(m['ttl'], `${p}.ttl`) || defTtl,
        help: help === '' ? DEFAULT_HELP : help,
        scale,
        rule: i,
      },
    });
  });
  return { rules, globOrdering: !globDisableOrdering, unmatched };
}

/**
 * The mapping file's readers: the shared {@link Checker} (YAML's null and an empty string
 * read as absent, as statsd_exporter reads them) plus the value kinds of mapping files.
 */
class Reader {
  readonly c = new Checker();

  /** YAML null and '' as absent. */
  absent(v: unknown): unknown {
    return v === null || v === '' ? undefined : v;
  }

  string(v: unknown, path: string): string {
    return this.c.string(v ?? undefined, path, '');
  }

  bool(v: unknown, path: string): boolean {
    return this.c.bool(v ?? undefined, path, false);
  }

  section(v: unknown, path: string): Record<string, unknown> | undefined {
    return this.c.section(v ?? undefined, path);
  }

  /** A Go duration string; a bare number is nanoseconds, as Go's YAML decoding reads it. */
  duration(v: unknown, path: string): number {
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v / 1e6;
    return this.c.duration(typeof v === 'number' ? String(v) : (v ?? undefined), path, 0, 0);
  }

  count(v: unknown, path: string): number {
    return this.c.int(v ?? undefined, path, 0, 0, Number.MAX_SAFE_INTEGER);
  }

  observerType(m: Record<string, unknown>, path: string): ObserverType | undefined {
    const key = this.absent(m['observer_type']) !== undefined ? 'observer_type' : 'timer_type';
    const v = this.absent(m[key]);
    if (v === 'default') return undefined;
    return this.c.oneOf(v, `${path}.${key}`, ['histogram', 'summary'], undefined, true);
  }

  matchType(v: unknown, path: string): 'glob' | 'regex' | undefined {
    return this.c.oneOf(this.absent(v), path, ['glob', 'regex'], undefined, true);
  }

  metricType(v: unknown, path: string): MatchMetricType | undefined {
    // Older statsd_exporter releases called observers "timer".
    if (v === 'timer') return 'observer';
    return this.c.oneOf(this.absent(v), path, ['counter', 'gauge', 'observer'], undefined, true);
  }

  /**
   * The native histogram of a `histogram_options` section: undefined when it sets no
   * factor, null when it sets one of 1 or less (off, as in statsd_exporter).
   */
  native(h: Record<string, unknown> | undefined, path: string): NativeHistogramOptions | null | undefined {
    const raw = this.absent(h?.['native_histogram_bucket_factor']);
    if (raw === undefined) return undefined;
    if (typeof raw !== 'number' || !Number.isFinite(raw)) {
      this.c.error(`${path}.native_histogram_bucket_factor`, `must be a number, got ${describe(raw)}`);
      return undefined;
    }
    if (raw <= 1) return null;
    const max = this.count(h?.['native_histogram_max_buckets'], `${path}.native_histogram_max_buckets`);
    return { schema: nativeSchema(raw), maxBuckets: Math.min(max || NATIVE_DEFAULT_MAX_BUCKETS, 16_384) };
  }

  buckets(v: unknown, path: string): number[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((b) => typeof b === 'number' && !Number.isNaN(b))) {
      this.c.error(path, `must be a list of numbers, got ${describe(v)}`);
      return undefined;
    }
    const nums = (v as number[]).filter((b) => b !== Infinity);
    if (nums.length === 0) return undefined;
    for (let i = 1; i < nums.length; i++)
      if (!(nums[i]! > nums[i - 1]!)) {
        this.c.error(path, `must be in increasing order (${nums[i - 1]} then ${nums[i]})`);
        return undefined;
      }
    return nums;
  }

  quantiles(v: unknown, path: string): Objective[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.c.error(path, `must be a list of {quantile, error}, got ${describe(v)}`);
      return undefined;
    }
    const out: Objective[] = [];
    v.forEach((q: unknown, i) => {
      const quantile = isPlainObject(q) ? q['quantile'] : undefined;
      const error = isPlainObject(q) ? (q['error'] ?? 0) : undefined;
      if (typeof quantile !== 'number' || quantile < 0 || quantile > 1 || typeof error !== 'number' || error < 0) {
        this.c.error(`${path}[${i}]`, 'must be {quantile: 0..1, error: >= 0}');
        return;
      }
      out.push({ quantile, error });
    });
    return out.length === 0 ? undefined : out;
  }
}

/** A node of the glob trie: literal children, a `*` child, and the rules ending here. */
interface GlobNode {
  readonly literal: Map<string, GlobNode>;
  star: GlobNode | undefined;
  /** Rules ending at this node, in file order. */
  readonly rules: Rule[];
}

function newNode(): GlobNode {
  return { literal: new Map(), star: undefined, rules: [] };
}

/**
 * MetricMapper answers "what does this StatsD name become" for one mapping file. It
 * keeps no per-name cache: the backend caches results per series.
 */
export class MetricMapper {
  readonly #config: MappingConfig;
  readonly #root = newNode();
  readonly #regexRules: readonly Rule[];

  constructor(config: MappingConfig) {
    this.#config = config;
    for (const rule of config.rules) {
      if (rule.glob === undefined) continue;
      let node = this.#root;
      for (const f of rule.glob) {
        if (f === '*') node = node.star ??= newNode();
        else {
          let next = node.literal.get(f);
          if (next === undefined) node.literal.set(f, (next = newNode()));
          node = next;
        }
      }
      node.rules.push(rule);
    }
    this.#regexRules = config.rules.filter((r) => r.regex !== undefined);
  }

  /** The `match` of rule `index` as written in the file (explain); undefined for -1. */
  ruleMatch(index: number): string | undefined {
    return this.#config.rules[index]?.match;
  }

  /** The mapping for a StatsD name and type, or the unmatched defaults (rule -1, the name unchanged). */
  map(name: string, type: MatchMetricType): MappingResult {
    const fields = name.split('.');
    const captures: string[] = [];
    const found = this.#config.globOrdering
      ? this.#firstInFileOrder(this.#root, fields, 0, type, captures, undefined)
      : this.#literalFirst(this.#root, fields, 0, type, captures);
    if (found !== undefined) {
      const caps = found.captures;
      const expand = (t: string): string => expandTemplate(t, (ref) => globCapture(caps, ref));
      return { ...found.rule.base, name: expand(found.rule.name), labels: expandLabels(found.rule, expand) };
    }
    for (const rule of this.#regexRules) {
      if (rule.metricType !== undefined && rule.metricType !== type) continue;
      const m = rule.regex!.exec(name);
      if (m === null) continue;
      const expand = (t: string): string => expandTemplate(t, (ref) => regexCapture(m, ref));
      return { ...rule.base, name: expand(rule.name), labels: expandLabels(rule, expand) };
    }
    return { ...this.#config.unmatched, name, labels: [] };
  }

  /** Depth-first over every path; keeps the rule earliest in the file. */
  #firstInFileOrder(
    node: GlobNode,
    fields: readonly string[],
    i: number,
    type: MatchMetricType,
    captures: string[],
    best: { rule: Rule; captures: string[] } | undefined,
  ): { rule: Rule; captures: string[] } | undefined {
    if (i === fields.length) {
      for (const rule of node.rules) {
        if (rule.metricType !== undefined && rule.metricType !== type) continue;
        if (best === undefined || rule.index < best.rule.index) best = { rule, captures: [...captures] };
        break;
      }
      return best;
    }
    const f = fields[i]!;
    const lit = node.literal.get(f);
    if (lit !== undefined) best = this.#firstInFileOrder(lit, fields, i + 1, type, captures, best);
    if (node.star !== undefined) {
      captures.push(f);
      best = this.#firstInFileOrder(node.star, fields, i + 1, type, captures, best);
      captures.pop();
    }
    return best;
  }

  /** Depth-first, literal components before `*`; the first complete match wins. */
  #literalFirst(
    node: GlobNode,
    fields: readonly string[],
    i: number,
    type: MatchMetricType,
    captures: string[],
  ): { rule: Rule; captures: string[] } | undefined {
    if (i === fields.length) {
      const rule = node.rules.find((r) => r.metricType === undefined || r.metricType === type);
      return rule === undefined ? undefined : { rule, captures: [...captures] };
    }
    const f = fields[i]!;
    const lit = node.literal.get(f);
    const viaLiteral = lit === undefined ? undefined : this.#literalFirst(lit, fields, i + 1, type, captures);
    if (viaLiteral !== undefined || node.star === undefined) return viaLiteral;
    captures.push(f);
    const viaStar = this.#literalFirst(node.star, fields, i + 1, type, captures);
    captures.pop();
    return viaStar;
  }
}

function expandLabels(rule: Rule, expand: (t: string) => string): Array<readonly [string, string]> {
  return rule.labels.map(([k, v]) => [k, expand(v)] as const);
}

function globCapture(captures: readonly string[], ref: string): string {
  const n = /^\d+$/.test(ref) ? Number(ref) : 0;
  return n >= 1 && n <= captures.length ? captures[n - 1]! : '';
}

function regexCapture(m: RegExpExecArray, ref: string): string {
  if (/^\d+$/.test(ref)) return m[Number(ref)] ?? '';
  return m.groups?.[ref] ?? '';
}

/**
 * Replaces `$ref` and `${ref}` as Go's regexp.Expand does: `$ref` takes the longest run
 * of letters, digits and `_` (so `$1_total` refers to a group named `1_total`, which is
 * empty), `$$` is a literal `$`, and a `$` that starts no reference stays as it is.
 */
export function expandTemplate(template: string, lookup: (ref: string) => string): string {
  if (!template.includes('$')) return template;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    const braced = /^\$\{([a-zA-Z0-9_]+)\}/.exec(template.slice(i));
    const bare = braced === null ? /^\$([a-zA-Z0-9_]+)/.exec(template.slice(i)) : null;
    const m = braced ?? bare;
    if (m === null) {
      // A `$` that starts no reference is kept as text, as Go does.
      out += '$';
      i++;
      continue;
    }
    out += lookup(m[1]!);
    i += m[0].length;
  }
  return out;
}
