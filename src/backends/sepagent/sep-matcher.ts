import { re2ToRegExp } from './regexp.js';
import { goJsonString } from './go-json.js';

/** Where a metric name belongs: its SEP instance, cluster and statistic. */
export interface SepMatch {
  readonly instanceId: string;
  readonly cluster: string;
  readonly statistics: string;
  /** `{"instanceId":…,"cluster":…,"metricType":"<type>","aggregationType":"` as UTF-8, per metric type. */
  readonly itemPrefix: Readonly<Record<SepMetricType, Buffer>>;
  /** `","statistics":…,"value":` as UTF-8. */
  readonly itemMiddle: Buffer;
}

/** The reference's metricType strings (note the plural `timers`). */
export type SepMetricType = 'counter' | 'timers' | 'gauge' | 'set';

/**
 * Why a name that passed IsSep produced no item (the reference reports these as errors
 * once per item): `sep_not_found` when the cluster match or the SEP id inside it is
 * empty, `no_statistics` when the cluster match reaches the end of the name.
 */
export type SepMismatch = 'sep_not_found' | 'no_statistics';

/** Result of classifying a name: not a SEP metric at all, a mismatch, or a match. */
export type SepClassification = 'ignored' | SepMismatch | SepMatch;

const CACHE_LIMIT = 200_000;

/**
 * SepMatcher applies the reference's IsSep and AddItem rules (sepagent-backend.md §3):
 * both regexps must match somewhere in the name; the cluster is the leftmost
 * cluster_regexp match in the name, the SEP id the leftmost sep_regexp match inside the
 * cluster, and the statistic is the name after the cluster with one character skipped.
 * Results are cached per name.
 */
export class SepMatcher {
  readonly #sep: RegExp;
  readonly #cluster: RegExp;
  readonly #cache = new Map<string, SepClassification>();
  /** Item prefixes per SEP id and cluster: shared by every statistic of a cluster. */
  readonly #prefixes = new Map<string, Readonly<Record<SepMetricType, Buffer>>>();

  /** Throws if a pattern is invalid; config validation reports that earlier. */
  constructor(sepRegexp: string, clusterRegexp: string) {
    const sep = re2ToRegExp(sepRegexp);
    const cluster = re2ToRegExp(clusterRegexp);
    if (typeof sep === 'string') throw new Error(`sep_regexp: ${sep}`);
    if (typeof cluster === 'string') throw new Error(`cluster_regexp: ${cluster}`);
    this.#sep = sep;
    this.#cluster = cluster;
  }

  /** Names whose classification is cached. */
  get cachedNames(): number {
    return this.#cache.size;
  }

  /**
   * Bounds the caches by the number of series a flush holds: names of series that no
   * longer exist would otherwise stay cached (and pinned) until the hard limit.
   */
  fitTo(series: number): void {
    const limit = Math.max(65_536, 2 * series);
    if (this.#cache.size > limit) this.#cache.clear();
    if (this.#prefixes.size > limit) this.#prefixes.clear();
  }

  classify(name: string): SepClassification {
    let c = this.#cache.get(name);
    if (c === undefined) {
      c = this.#compute(name);
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(name, c);
    }
    return c;
  }

  #compute(name: string): SepClassification {
    const cm = this.#cluster.exec(name);
    if (cm === null || !this.#sep.test(name)) return 'ignored';
    const cluster = cm[0];
    const sm = this.#sep.exec(cluster);
    const instanceId = sm === null ? '' : sm[0];
    if (cluster === '' || instanceId === '') return 'sep_not_found';
    const after = cm.index + cluster.length;
    if (after >= name.length) return 'no_statistics';
    const statistics = name.slice(after + 1);
    const prefixKey = `${instanceId}\n${cluster}`;
    let itemPrefix = this.#prefixes.get(prefixKey);
    if (itemPrefix === undefined) {
      const head = `{"instanceId":${goJsonString(instanceId)},"cluster":${goJsonString(cluster)},"metricType":"`;
      itemPrefix = {
        counter: Buffer.from(`${head}counter","aggregationType":"`),
        timers: Buffer.from(`${head}timers","aggregationType":"`),
        gauge: Buffer.from(`${head}gauge","aggregationType":"`),
        set: Buffer.from(`${head}set","aggregationType":"`),
      };
      if (this.#prefixes.size >= CACHE_LIMIT) this.#prefixes.clear();
      this.#prefixes.set(prefixKey, itemPrefix);
    }
    return {
      instanceId,
      cluster,
      statistics,
      itemPrefix,
      itemMiddle: Buffer.from(`","statistics":${goJsonString(statistics)},"value":`),
    };
  }
}
