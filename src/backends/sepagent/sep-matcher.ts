import { DaemonError } from '../../shared/errors.js';
import { compileRe2, type Re2Pattern } from '../shared/re2.js';
import { goJsonString } from './go-json.js';
import { doubled } from '../../shared/typed-arrays.js';

/** The item prefixes shared by every statistic of one SEP id and cluster. */
export interface SepCluster {
  readonly instanceId: string;
  readonly cluster: string;
  /** `{"instanceId":…,"cluster":…,"metricType":"<type>","aggregationType":"` as UTF-8, per metric type. */
  readonly itemPrefix: Readonly<Record<SepMetricType, Buffer>>;
  /** `{"sep":…,"metrics":[`, the start of this SEP's documents, as UTF-8. */
  readonly documentHead: Buffer;
}

/** Where a metric name belongs: its SEP instance, cluster and statistic. */
export interface SepMatch {
  readonly instanceId: string;
  readonly cluster: string;
  /** The name after the cluster match, one character skipped. */
  readonly statistics: string;
}

const MIDDLE_HEAD = '","statistics":';
const MIDDLE_TAIL = ',"value":';

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
const ARENA_INITIAL_BYTES = 1 << 12;

/** Why a name has no match, as a (negative) classification code. */
const CODE_IGNORED = -1;
const CODE_SEP_NOT_FOUND = -2;
const CODE_NO_STATISTICS = -3;
const MISMATCH_OF_CODE: Record<number, 'ignored' | SepMismatch> = {
  [CODE_IGNORED]: 'ignored',
  [CODE_SEP_NOT_FOUND]: 'sep_not_found',
  [CODE_NO_STATISTICS]: 'no_statistics',
};

/**
 * SepMatcher applies the reference's IsSep and AddItem rules (docs/semantics.md#which-series-and-where):
 * both regexps must match somewhere in the name; the cluster is the leftmost
 * cluster_regexp match in the name, the SEP id the leftmost sep_regexp match inside the
 * cluster, and the statistic is the name after the cluster with one character skipped.
 *
 * Results are cached per name as a small integer (no object per name): a match is a
 * cluster number and a statistic number. A cluster's item prefixes are built once and
 * shared by all its statistics; a statistic's middle bytes
 * (`","statistics":…,"value":`) are stored once in a byte arena, whatever the number of
 * clusters that report it. Cluster and statistic numbers stay valid until {@link fitTo}
 * (between flushes), even when the name cache starts over in the middle of one.
 */
export class SepMatcher {
  readonly #sep: Re2Pattern;
  readonly #cluster: Re2Pattern;
  /** Name → code: a match number (≥ 0), or a negative CODE_*. */
  readonly #cache = new Map<string, number>();
  /** Per match number: its cluster and statistic numbers. */
  #matchCluster = new Int32Array(1024);
  #matchStatistic = new Int32Array(1024);
  #matches = 0;
  readonly #clusterIds = new Map<string, number>();
  readonly #clusters: SepCluster[] = [];
  readonly #statisticIds = new Map<string, number>();
  /**
   * Statistic `id`'s middle bytes are `arena[middleAt[id], middleAt[id + 1])`: statistics
   * are appended to the arena one after another.
   */
  #middleAt = new Int32Array(1024);
  #arena = Buffer.allocUnsafeSlow(ARENA_INITIAL_BYTES);
  #arenaUsed = 0;
  readonly #cacheLimit: number;
  readonly #patterns: { readonly sep: string; readonly cluster: string };
  /** Names the cache holds before it starts over: `cacheLimit`, or more for large flushes. */
  #hardLimit: number;

  /**
   * Throws if a pattern is invalid; config validation reports that earlier. The name
   * cache starts over when it holds `cacheLimit` names, or twice the series of the last
   * flush (see {@link fitTo}) when that is more.
   */
  constructor(sepRegexp: string, clusterRegexp: string, cacheLimit = CACHE_LIMIT) {
    this.#cacheLimit = cacheLimit;
    this.#hardLimit = cacheLimit;
    this.#patterns = { sep: sepRegexp, cluster: clusterRegexp };
    const sep = compileRe2(sepRegexp);
    const cluster = compileRe2(clusterRegexp);
    if (typeof sep === 'string') throw new DaemonError('ERR_CONFIG_INVALID', `sep_regexp: ${sep}`);
    if (typeof cluster === 'string') throw new DaemonError('ERR_CONFIG_INVALID', `cluster_regexp: ${cluster}`);
    this.#sep = sep;
    this.#cluster = cluster;
  }

  /** Names whose classification is cached. */
  get cachedNames(): number {
    return this.#cache.size;
  }

  /** Distinct clusters and statistics held (until the next {@link fitTo} lets them go). */
  get cachedParts(): { clusters: number; statistics: number } {
    return { clusters: this.#clusters.length, statistics: this.#statisticIds.size };
  }

  /**
   * Bounds the caches by the number of series a flush holds: names of series that no
   * longer exist would otherwise stay cached until the hard limit. Called between
   * flushes only: cluster and statistic numbers handed out before stay valid until then.
   */
  fitTo(series: number): void {
    const limit = Math.max(65_536, 2 * series);
    // A flush of more series than the cache holds would classify every name again at
    // every flush (a million series: a fifth of the daemon's CPU).
    this.#hardLimit = Math.max(this.#cacheLimit, limit);
    if (this.#clusters.length > limit || this.#statisticIds.size > limit) {
      this.#clusterIds.clear();
      this.#clusters.length = 0;
      this.#statisticIds.clear();
      this.#arena = Buffer.allocUnsafeSlow(ARENA_INITIAL_BYTES);
      this.#arenaUsed = 0;
      this.#clearNames();
    } else if (this.#cache.size > limit) this.#clearNames();
  }

  #clearNames(): void {
    this.#cache.clear();
    this.#matches = 0;
  }

  /**
   * The classification code of a name: a match number (≥ 0, for {@link clusterOf} and
   * {@link statisticOf}) or a negative code ({@link mismatchOf}).
   */
  code(name: string): number {
    let c = this.#cache.get(name);
    if (c === undefined) {
      if (this.#cache.size >= this.#hardLimit) this.#clearNames();
      c = this.#compute(name);
      this.#cache.set(name, c);
    }
    return c;
  }

  /** Why a negative code has no match. */
  mismatchOf(code: number): 'ignored' | SepMismatch {
    return MISMATCH_OF_CODE[code] ?? 'ignored';
  }

  /** The cluster number of a match (valid until the next {@link fitTo}). */
  clusterOf(match: number): number {
    return this.#matchCluster[match]!;
  }

  /** The statistic number of a match (valid until the next {@link fitTo}). */
  statisticOf(match: number): number {
    return this.#matchStatistic[match]!;
  }

  /** A cluster's shared data by number. */
  cluster(id: number): SepCluster {
    return this.#clusters[id]!;
  }

  /** The arena holding every statistic's middle bytes (read it after classifying). */
  get arena(): Buffer {
    return this.#arena;
  }

  /** Where statistic `id`'s middle bytes start in {@link arena}. */
  middleStart(id: number): number {
    return this.#middleAt[id]!;
  }

  /** Where statistic `id`'s middle bytes end in {@link arena}. */
  middleEnd(id: number): number {
    return this.#middleAt[id + 1]!;
  }

  /** The classification of a name as an object (for inspection; the encoder uses {@link code}). */
  classify(name: string): SepClassification {
    const c = this.code(name);
    if (c < 0) return this.mismatchOf(c);
    const cluster = this.cluster(this.clusterOf(c));
    const s = this.statisticOf(c);
    const json = this.#arena.toString(
      'utf8',
      this.middleStart(s) + MIDDLE_HEAD.length,
      this.middleEnd(s) - MIDDLE_TAIL.length,
    );
    return { instanceId: cluster.instanceId, cluster: cluster.cluster, statistics: JSON.parse(json) as string };
  }

  /**
   * Says in words why a name has no place ({@link classify} is not a match): which
   * regexp failed, and on what.
   */
  whyNot(name: string): string {
    const { sep, cluster } = this.#patterns;
    const cm = this.#cluster.exec(name);
    if (cm === null) return `cluster_regexp ${JSON.stringify(cluster)} matches nowhere in ${JSON.stringify(name)}`;
    if (!this.#sep.test(name)) return `sep_regexp ${JSON.stringify(sep)} matches nowhere in ${JSON.stringify(name)}`;
    if (cm[0] === '')
      return `cluster_regexp ${JSON.stringify(cluster)} matches an empty string in ${JSON.stringify(name)}`;
    const sm = this.#sep.exec(cm[0]);
    if (sm === null || sm[0] === '')
      return `sep_regexp ${JSON.stringify(sep)} finds no SEP id inside the cluster ${JSON.stringify(cm[0])}`;
    return `the cluster ${JSON.stringify(cm[0])} reaches the end of ${JSON.stringify(name)}: no statistic follows it`;
  }

  #compute(name: string): number {
    const cm = this.#cluster.exec(name);
    if (cm === null || !this.#sep.test(name)) return CODE_IGNORED;
    const cluster = cm[0];
    const sm = this.#sep.exec(cluster);
    const instanceId = sm === null ? '' : sm[0];
    if (cluster === '' || instanceId === '') return CODE_SEP_NOT_FOUND;
    const after = cm.index + cluster.length;
    if (after >= name.length) return CODE_NO_STATISTICS;
    const m = this.#matches++;
    if (m >= this.#matchCluster.length) {
      this.#matchCluster = doubled(this.#matchCluster);
      this.#matchStatistic = doubled(this.#matchStatistic);
    }
    this.#matchCluster[m] = this.#clusterId(instanceId, cluster);
    this.#matchStatistic[m] = this.#statisticId(name.slice(after + 1));
    return m;
  }

  #clusterId(instanceId: string, cluster: string): number {
    const key = `${instanceId}\n${cluster}`;
    let id = this.#clusterIds.get(key);
    if (id === undefined) {
      const head = `{"instanceId":${goJsonString(instanceId)},"cluster":${goJsonString(cluster)},"metricType":"`;
      id = this.#clusters.length;
      this.#clusters.push({
        instanceId,
        cluster,
        itemPrefix: {
          counter: Buffer.from(`${head}counter","aggregationType":"`),
          timers: Buffer.from(`${head}timers","aggregationType":"`),
          gauge: Buffer.from(`${head}gauge","aggregationType":"`),
          set: Buffer.from(`${head}set","aggregationType":"`),
        },
        documentHead: Buffer.from(`{"sep":${goJsonString(instanceId)},"metrics":[`),
      });
      this.#clusterIds.set(key, id);
    }
    return id;
  }

  #statisticId(statistic: string): number {
    let id = this.#statisticIds.get(statistic);
    if (id === undefined) {
      id = this.#statisticIds.size;
      const middle = `${MIDDLE_HEAD}${goJsonString(statistic)}${MIDDLE_TAIL}`;
      const bytes = Buffer.byteLength(middle);
      if (this.#arenaUsed + bytes > this.#arena.length) {
        // Grown by copying: offsets handed out stay valid.
        const bigger = Buffer.allocUnsafeSlow(Math.max(this.#arena.length * 2, this.#arenaUsed + bytes));
        this.#arena.copy(bigger, 0, 0, this.#arenaUsed);
        this.#arena = bigger;
      }
      if (id + 1 >= this.#middleAt.length) this.#middleAt = doubled(this.#middleAt);
      this.#arenaUsed += this.#arena.write(middle, this.#arenaUsed, 'utf8');
      this.#middleAt[id + 1] = this.#arenaUsed;
      this.#statisticIds.set(statistic, id);
    }
    return id;
  }
}
