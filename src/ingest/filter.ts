/** One `[filter.<name>]` section (docs/config.md, docs/semantics.md#series-identity). */
export interface FilterConfig {
  /** Section name, for messages. */
  name: string;
  /** The filter applies only to these names (empty: all). */
  matchMetrics: string[];
  /** The filter never applies to these names. */
  excludeMetrics: string[];
  /** The filter applies only when a tag matches (empty: always). */
  matchTags: string[];
  /** Tags removed when the filter applies. */
  dropTags: string[];
  /** Drop the whole metric when the filter applies. */
  dropMetric: boolean;
  /** Clear the host when the filter applies (sources merge). */
  dropHost: boolean;
}

/**
 * A compiled filter pattern: exact text, `prefix*`, and `!` in front to invert.
 */
export type Pattern = (s: string) => boolean;

/** Compiles gostatsd filter pattern syntax. */
export function compilePattern(text: string): Pattern {
  const invert = text.startsWith('!');
  const body = invert ? text.slice(1) : text;
  let match: Pattern;
  if (body.endsWith('*')) {
    const prefix = body.slice(0, -1);
    match = (s) => s.startsWith(prefix);
  } else {
    match = (s) => s === body;
  }
  return invert ? (s) => !match(s) : match;
}

/** A filter ready to evaluate. */
export interface CompiledFilter {
  matchMetrics: Pattern[];
  excludeMetrics: Pattern[];
  matchTags: Pattern[];
  dropTags: Pattern[];
  dropMetric: boolean;
  dropHost: boolean;
}

/** Compiles a filter section. */
export function compileFilter(f: FilterConfig): CompiledFilter {
  return {
    matchMetrics: f.matchMetrics.map(compilePattern),
    excludeMetrics: f.excludeMetrics.map(compilePattern),
    matchTags: f.matchTags.map(compilePattern),
    dropTags: f.dropTags.map(compilePattern),
    dropMetric: f.dropMetric,
    dropHost: f.dropHost,
  };
}

/** Whether the filter applies to a metric with this name and these tags. */
export function filterApplies(f: CompiledFilter, name: string, tags: readonly string[]): boolean {
  if (f.matchMetrics.length > 0 && !f.matchMetrics.some((p) => p(name))) return false;
  if (f.excludeMetrics.some((p) => p(name))) return false;
  if (f.matchTags.length > 0 && !tags.some((t) => f.matchTags.some((p) => p(t)))) return false;
  return true;
}
