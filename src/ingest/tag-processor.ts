import type { SeriesIdentity } from '../aggregator/snapshot.js';
import { compileFilter, filterApplies, type CompiledFilter, type FilterConfig } from './filter.js';

/** Settings of {@link TagProcessor}. */
export interface TagProcessorConfig {
  /** Take the host from a `host:` tag instead of the sender address. */
  ignoreHost: boolean;
  /** Prefix added as `<namespace>.` to every metric name; `''` for none. */
  namespace: string;
  /** Tags appended to every metric and event unless already present. */
  defaultTags: readonly string[];
  filters: readonly FilterConfig[];
  /** `container-id-tag`: a DogStatsD `|c:<id>` field becomes the tag `container_id:<id>`. */
  containerIdTag?: boolean;
}

/** Compares strings by their UTF-8 byte order (Go's string order), not UTF-16 order. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (U+10000 and up) sort after U+E000..U+FFFF in UTF-8.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

const NO_TAGS: readonly string[] = Object.freeze([]);

/**
 * TagProcessor turns a parsed metric's name, tags and sender into its series identity:
 * host selection, namespace, filters, tag de-duplication, default tags and the sorted
 * tags key (docs/semantics.md#series-identity). It returns undefined when a filter drops the metric.
 */
export class TagProcessor {
  readonly #cfg: TagProcessorConfig;
  readonly #filters: CompiledFilter[];
  readonly #prefix: string;
  /** Fast path: no filters and no default tags. */
  readonly #plain: boolean;
  readonly #hostKeys = new Map<string, string>();

  /** Whether a line's `|c:<container id>` becomes a `container_id:` tag. */
  readonly containerIdTag: boolean;

  constructor(cfg: TagProcessorConfig) {
    this.#cfg = cfg;
    this.containerIdTag = cfg.containerIdTag === true;
    this.#filters = cfg.filters.map(compileFilter);
    this.#prefix = cfg.namespace === '' ? '' : cfg.namespace + '.';
    this.#plain = this.#filters.length === 0 && cfg.defaultTags.length === 0;
  }

  /** Returns the identity of a metric, or undefined when a filter drops it. */
  identify(rawName: string, rawTags: string[], sourceHost: string): SeriesIdentity | undefined {
    const name = this.#prefix === '' ? rawName : this.#prefix + rawName;
    let tags = rawTags;
    let host = sourceHost;
    if (this.#cfg.ignoreHost) {
      host = '';
      const i = tags.findIndex((t) => t.startsWith('host:'));
      if (i >= 0) {
        host = tags[i]!.slice(5);
        tags = tags.slice(0, i).concat(tags.slice(i + 1));
      }
    }
    return this.#finish(name, tags, host);
  }

  /**
   * The identity of a metric forwarded by another daemon (`/v2/raw`): its name already has
   * the sender's namespace and its host is the one given; filters, de-duplication and
   * default tags apply as to a received line.
   */
  identifyForwarded(name: string, tags: string[], host: string): SeriesIdentity | undefined {
    return this.#finish(name, tags, host);
  }

  #finish(name: string, tags: string[], host: string): SeriesIdentity | undefined {
    if (this.#plain && tags.length === 0) {
      return { name, tags: NO_TAGS, host, tagsKey: this.#hostKey(host) };
    }

    let dropped: Set<string> | undefined;
    for (const f of this.#filters) {
      if (!filterApplies(f, name, tags)) continue;
      if (f.dropMetric) return undefined;
      for (const t of tags) {
        if (f.dropTags.some((p) => p(t))) (dropped ??= new Set()).add(t);
      }
      if (f.dropHost) host = '';
    }
    const unique = new Set(tags);
    if (dropped !== undefined) for (const t of dropped) unique.delete(t);
    for (const t of this.#cfg.defaultTags) {
      if (dropped === undefined || !dropped.has(t)) unique.add(t);
    }
    const sorted = [...unique].sort(compareUtf8);
    const joined = sorted.join(',');
    const tagsKey = host === '' ? joined : `${joined},s:${host}`;
    return { name, tags: sorted, host, tagsKey };
  }

  /** Tags for an event: its own plus the default tags. */
  eventTags(tags: readonly string[]): string[] {
    const out = [...tags];
    for (const t of this.#cfg.defaultTags) if (!out.includes(t)) out.push(t);
    return out;
  }

  #hostKey(host: string): string {
    let k = this.#hostKeys.get(host);
    if (k === undefined) {
      k = host === '' ? '' : `,s:${host}`;
      if (this.#hostKeys.size < 10_000) this.#hostKeys.set(host, k);
    }
    return k;
  }
}
