/** The two Prometheus exposition formats. */
export type ExpositionFormat = 'text' | 'openmetrics';

/** Content types of the formats. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** Picks OpenMetrics when the `Accept` header asks for it (with a non-zero q), else text. */
export function negotiate(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'text';
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    if (type !== 'application/openmetrics-text') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return 'openmetrics';
  }
  return 'text';
}

/**
 * Rewrites a Prometheus text exposition (prom-client's) as OpenMetrics families, without
 * the closing `# EOF`: counter families are named without `_total` and their samples
 * with it, and blank lines (not allowed in OpenMetrics) go.
 */
export function textToOpenMetrics(text: string): string {
  const counters = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) counter$/gm)) counters.add(m[1]!);
  const family = (name: string): string => (counters.has(name) ? name.replace(/_total$/, '') : name);
  let out = '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+)(.*)$/.exec(line);
    if (meta !== null) {
      out += `# ${meta[1]} ${family(meta[2]!)}${meta[3]}\n`;
      continue;
    }
    const name = /^[^\s{]+/.exec(line)?.[0] ?? '';
    out += counters.has(name) && !name.endsWith('_total') ? `${name}_total${line.slice(name.length)}\n` : `${line}\n`;
  }
  return out;
}
