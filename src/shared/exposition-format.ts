import { PROTOBUF_CONTENT_TYPE } from './metric-family.js';

/** The Prometheus exposition formats: text, OpenMetrics, and protobuf (the one with native histograms). */
export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

/** Content types of the formats. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  protobuf: PROTOBUF_CONTENT_TYPE,
};

/**
 * The format the `Accept` header prefers among those offered (highest q, then the order
 * written; a q of 0 refuses): protobuf for `application/vnd.google.protobuf` with
 * `proto=io.prometheus.client.MetricFamily` and `encoding=delimited` (only when
 * `protobuf` is offered), OpenMetrics for `application/openmetrics-text`, else text.
 */
export function negotiate(accept: string | undefined, protobuf = false): ExpositionFormat {
  if (accept === undefined) return 'text';
  let best: ExpositionFormat = 'text';
  let bestQ = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    const param = (k: string): string | undefined => params.find((p) => p.startsWith(`${k}=`))?.slice(k.length + 1);
    const q = param('q') === undefined ? 1 : Number(param('q'));
    if (!(q > bestQ)) continue;
    if (type === 'application/openmetrics-text') [best, bestQ] = ['openmetrics', q];
    else if (
      protobuf &&
      type === 'application/vnd.google.protobuf' &&
      param('proto') === 'io.prometheus.client.MetricFamily' &&
      param('encoding') === 'delimited'
    )
      [best, bestQ] = ['protobuf', q];
    else if (type === 'text/plain') [best, bestQ] = ['text', q];
  }
  return best;
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
