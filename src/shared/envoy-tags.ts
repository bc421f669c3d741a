/** `envoy-tag-extraction`: which rules turn Envoy name segments into tags. */
export const ENVOY_TAG_RULES = ['off', 'envoy', 'istio'] as const;
export type EnvoyTagRules = (typeof ENVOY_TAG_RULES)[number];

/**
 * One of Envoy's default tag extractors: when `re` matches a stat name, capture group 1
 * is cut out of the name and capture group 2 (or 1, when there is no second) is the tag's
 * value.
 */
interface Extractor {
  readonly tag: string;
  readonly re: RegExp;
}

const x = (tag: string, re: string): Extractor => ({ tag, re: new RegExp(re, 'd') });

/**
 * Envoy's default tag extraction rules (`TagNameValues` in Envoy's
 * source/common/config/well_known_names.cc), in Envoy's order. POSIX `[:digit:]` is
 * written `\d`.
 */
const ENVOY: readonly Extractor[] = [
  x('envoy.response_code', String.raw`_rq(_(\d{3}))$`),
  x('envoy.response_code_class', String.raw`_rq_(\d)xx$`),
  x(
    'envoy.dynamo_partition_id',
    String.raw`^http(?=\.).*?\.dynamodb\.table(?=\.).*?\.capacity(?=\.).*?(\.__partition_id=(\w{7}))$`,
  ),
  x(
    'envoy.dynamo_operation',
    String.raw`^http(?=\.).*?\.dynamodb.(?:operation|table(?=\.).*?\.capacity)(\.(.*?))(?:\.|$)`,
  ),
  x('envoy.mongo_callsite', String.raw`^mongo(?=\.).*?\.collection(?=\.).*?\.callsite\.((.*?)\.).*?query.\w+?$`),
  x('envoy.dynamo_table', String.raw`^http(?=\.).*?\.dynamodb.(?:table|error)\.((.*?)\.)`),
  x('envoy.mongo_collection', String.raw`^mongo(?=\.).*?\.collection\.((.*?)\.).*?query.\w+?$`),
  x('envoy.mongo_cmd', String.raw`^mongo(?=\.).*?\.cmd\.((.*?)\.)\w+?$`),
  x('envoy.grpc_bridge_method', String.raw`^cluster(?=\.).*?\.grpc(?=\.).*\.((.*?)\.)\w+?$`),
  x('envoy.http_user_agent', String.raw`^http(?=\.).*?\.user_agent\.((.*?)\.)\w+?$`),
  x('envoy.virtual_cluster', String.raw`^vhost(?=\.).*?\.vcluster\.((.*?)\.)\w+?$`),
  x('envoy.fault_downstream_cluster', String.raw`^http(?=\.).*?\.fault\.((.*?)\.)\w+?$`),
  x('envoy.ssl_cipher', String.raw`^listener(?=\.).*?\.ssl\.cipher(\.(.*?))$`),
  x('cipher_suite', String.raw`^cluster(?=\.).*?\.ssl\.ciphers(\.(.*?))$`),
  x('envoy.grpc_bridge_service', String.raw`^cluster(?=\.).*?\.grpc\.((.*?)\.)`),
  x('envoy.tcp_prefix', String.raw`^tcp\.((.*?)\.)\w+?$`),
  x('envoy.clientssl_prefix', String.raw`^auth\.clientssl\.((.*?)\.)\w+?$`),
  x('envoy.ratelimit_prefix', String.raw`^ratelimit\.((.*?)\.)\w+?$`),
  x('envoy.cluster_name', String.raw`^cluster\.((.*?)\.)`),
  x('envoy.http_conn_manager_prefix', String.raw`^(?:|listener(?=\.).*?\.)http\.((.*?)\.)`),
  x('envoy.listener_address', String.raw`^listener\.(((?:[_.\d]*|[_\[\]aAbBcCdDeEfF\d]*))\.)`),
  x('envoy.virtual_host', String.raw`^vhost\.((.*?)\.)`),
  x('envoy.mongo_prefix', String.raw`^mongo\.((.*?)\.)`),
];

/**
 * Istio's proxies name clusters `outbound|9080||reviews.default.svc.cluster.local`: the
 * cluster name holds dots, so Istio's bootstrap replaces Envoy's cluster rule with one that
 * takes a `.svc.cluster.local` suffix whole.
 */
const ISTIO: readonly Extractor[] = ENVOY.map((e) =>
  e.tag === 'envoy.cluster_name'
    ? x('envoy.cluster_name', String.raw`^cluster\.((.+?(\..+?\.svc\.cluster\.local)?)\.)`)
    : e,
);

/** The default prefix of Envoy's statsd sink. */
const SINK_PREFIX = 'envoy.';

/** A stat name with Envoy's tags taken out. */
export interface EnvoyTagged {
  readonly name: string;
  /** `tag:value` pairs, in rule order. */
  readonly tags: readonly string[];
}

/**
 * Applies Envoy's tag extraction to `name` as Envoy does (after the statsd sink's `envoy.`
 * prefix, when there is one): every rule is matched against the full stat name, each match contributes a tag, and the matched spans (group 1) are cut from the
 * name at the end (`cluster.backend.upstream_rq_200` →
 * `cluster.upstream_rq` with `envoy.cluster_name:backend`, `envoy.response_code:200`).
 */
export function extractEnvoyTags(name: string, rules: Exclude<EnvoyTagRules, 'off'>): EnvoyTagged {
  // Envoy's statsd sink puts its prefix (`envoy.` by default) before the stat name; the
  // rules apply to the stat name.
  if (name.startsWith(SINK_PREFIX)) {
    const inner = extractEnvoyTags(name.slice(SINK_PREFIX.length), rules);
    return inner.tags.length === 0 ? { name, tags: [] } : { name: SINK_PREFIX + inner.name, tags: inner.tags };
  }
  const extractors = rules === 'istio' ? ISTIO : ENVOY;
  const tags: string[] = [];
  const cuts: Array<[number, number]> = [];
  const seen = new Set<string>();
  for (const e of extractors) {
    if (seen.has(e.tag)) continue;
    const m = e.re.exec(name);
    const span = m?.indices?.[1];
    // With one group (`_rq_(\d)xx$`), the removed text is the value too.
    const value = m?.[2] ?? m?.[1];
    if (m === null || span === undefined || value === undefined) continue;
    seen.add(e.tag);
    tags.push(`${e.tag}:${value}`);
    cuts.push([span[0], span[1]]);
  }
  if (cuts.length === 0) return { name, tags };
  cuts.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [from, to] of cuts) {
    if (from > at) out += name.slice(at, from);
    at = Math.max(at, to);
  }
  out += name.slice(at);
  return { name: out, tags };
}

/**
 * A memo of {@link extractEnvoyTags} for a backend: names repeat every flush, so each is
 * matched once. Bounded: it starts over past `limit` names.
 */
export class EnvoyTagExtractor {
  readonly rules: EnvoyTagRules;
  readonly #memo = new Map<string, EnvoyTagged>();
  readonly #limit: number;

  constructor(rules: EnvoyTagRules, limit = 200_000) {
    this.rules = rules;
    this.#limit = limit;
  }

  /** The name and tags of a series: unchanged when off or when no rule matches. */
  apply(name: string, tags: readonly string[]): EnvoyTagged {
    if (this.rules === 'off') return { name, tags };
    let t = this.#memo.get(name);
    if (t === undefined) {
      if (this.#memo.size >= this.#limit) this.#memo.clear();
      t = extractEnvoyTags(name, this.rules);
      this.#memo.set(name, t);
    }
    return t.tags.length === 0 ? { name, tags } : { name: t.name, tags: [...tags, ...t.tags] };
  }
}
