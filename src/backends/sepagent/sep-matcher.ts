import { re2ToRegExp } from './regexp.js';
import { goJsonString } from './go-json.js';

/** The item prefixes shared by every statistic of one SEP id and cluster. */
export interface SepCluster {
  readonly instanceId: string;
  readonly cluster: string;
  /** `{"instanceId":…,"cluster":…,"metricType":"<type>","aggregationType":"` as UTF-8, per metric type. */
  readonly itemPrefix: Readonly<Record<SepMetricType, Buffer>>;
  /** `{"sep":…,"metrics":[`, the start of this SEP's documents, as UTF-8. */
  readonly documentHead: Buffer;
}

/**
 * Where a metric name belongs: its SEP instance, cluster and statistic.
 *
 * One exists per cached name, so it is kept small: the cluster's data is shared, and the
 * item's middle bytes (`","statistics":…,"value":`) live in a byte arena shared by all
 * matches; the statistic is read back from them when asked for.
 */
export class SepMatch {
  readonly #group: SepCluster;
  /** The arena holding the middle bytes at [middleStart, middleEnd). */
  readonly arena: Buffer;
  readonly middleStart: number;
  readonly middleEnd: number;

  constructor(group: SepCluster, arena: Buffer, middleStart: number, middleEnd: number) {
    this.#group = group;
    this.arena = arena;
    this.middleStart = middleStart;
    this.middleEnd = middleEnd;
  }

  get instanceId(): string {
    return this.#group.instanceId;
  }

  get cluster(): string {
    return this.#group.cluster;
  }

  /** The name after the cluster match, one character skipped (read back from the item bytes). */
  get statistics(): string {
    const json = this.arena.toString(
      'utf8',
      this.middleStart + MIDDLE_HEAD.length,
      this.middleEnd - MIDDLE_TAIL.length,
    );
    return JSON.parse(json) as string;
  }

  get itemPrefix(): Readonly<Record<SepMetricType, Buffer>> {
    return this.#group.itemPrefix;
  }

  get documentHead(): Buffer {
    return this.#group.documentHead;
  }

  /** `","statistics":…,"value":` as UTF-8 (a view of the arena). */
  get itemMiddle(): Buffer {
    return this.arena.subarray(this.middleStart, this.middleEnd);
  }
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
const ARENA_INITIAL_BYTES = 1 << 16;
/** Arenas grow by doubling up to this size, then more of this size are added: little is left unused. */
const ARENA_MAX_BYTES = 1 << 18;

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
  readonly #clusters = new Map<string, SepCluster>();
  /** Middle bytes of the cached matches; replaced (never rewritten) when full or cleared. */
  #arena = Buffer.allocUnsafeSlow(ARENA_INITIAL_BYTES);
  #arenaUsed = 0;

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
    if (this.#cache.size > limit) this.#clearNames();
    if (this.#clusters.size > limit) this.#clusters.clear();
  }

  #clearNames(): void {
    this.#cache.clear();
    // Matches still held elsewhere keep the old arena alive; new ones start a fresh one.
    this.#arena = Buffer.allocUnsafeSlow(ARENA_INITIAL_BYTES);
    this.#arenaUsed = 0;
  }

  classify(name: string): SepClassification {
    let c = this.#cache.get(name);
    if (c === undefined) {
      c = this.#compute(name);
      if (this.#cache.size >= CACHE_LIMIT) this.#clearNames();
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
    const prefixKey = `${instanceId}\n${cluster}`;
    let group = this.#clusters.get(prefixKey);
    if (group === undefined) {
      const head = `{"instanceId":${goJsonString(instanceId)},"cluster":${goJsonString(cluster)},"metricType":"`;
      group = {
        instanceId,
        cluster,
        itemPrefix: {
          counter: Buffer.from(`${head}counter","aggregationType":"`),
          timers: Buffer.from(`${head}timers","aggregationType":"`),
          gauge: Buffer.from(`${head}gauge","aggregationType":"`),
          set: Buffer.from(`${head}set","aggregationType":"`),
        },
        documentHead: Buffer.from(`{"sep":${goJsonString(instanceId)},"metrics":[`),
      };
      if (this.#clusters.size >= CACHE_LIMIT) this.#clusters.clear();
      this.#clusters.set(prefixKey, group);
    }
    const middle = `${MIDDLE_HEAD}${goJsonString(name.slice(after + 1))}${MIDDLE_TAIL}`;
    const bytes = Buffer.byteLength(middle);
    if (this.#arenaUsed + bytes > this.#arena.length) {
      // A new arena; matches made so far keep theirs.
      this.#arena = Buffer.allocUnsafeSlow(Math.max(Math.min(this.#arena.length * 2, ARENA_MAX_BYTES), bytes));
      this.#arenaUsed = 0;
    }
    const start = this.#arenaUsed;
    this.#arenaUsed += this.#arena.write(middle, start, 'utf8');
    return new SepMatch(group, this.#arena, start, this.#arenaUsed);
  }
}
