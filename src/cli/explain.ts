import { COMPONENTS } from '../daemon/components.js';
import { explainLines, type LineExplanation } from '../daemon/explain.js';
import { loadRawConfig, validateLoaded } from '../config/load.js';
import { formatIssues } from '../shared/errors.js';
import { systemClock } from '../shared/clock.js';
import type { CliIo } from './io.js';

/** Exit codes of `explain`: 0 every line was explained, 1 the configuration is invalid. */
export interface ExplainRequest {
  configPath: string | undefined;
  flags: Record<string, unknown>;
  /** Lines given as arguments; none: read stdin. */
  lines: readonly string[];
  json: boolean;
  sourceHost: string;
}

/** `statsd-sepagent explain`: what the daemon does with each line under a configuration. */
export async function explainCommand(req: ExplainRequest, io: CliIo): Promise<number> {
  const layers =
    req.configPath === undefined
      ? { flags: req.flags, env: io.env }
      : { configPath: req.configPath, flags: req.flags, env: io.env };
  const v = validateLoaded(await loadRawConfig(layers, COMPONENTS), COMPONENTS, io.env);
  if (v.config === undefined || v.issues.some((i) => i.severity === 'error')) {
    io.stderr.write(`statsd-sepagent explain: the configuration is invalid:\n${formatIssues(v.issues)}\n`);
    return 1;
  }
  const lines = req.lines.length > 0 ? [...req.lines] : await readLines(io.stdin);
  const out = await explainLines(v.config, lines, { clock: systemClock, sourceHost: req.sourceHost });
  io.stdout.write(req.json ? out.map((e) => JSON.stringify(e)).join('\n') + '\n' : out.map(render).join('\n'));
  return 0;
}

async function readLines(stdin: NodeJS.ReadableStream | undefined): Promise<string[]> {
  if (stdin === undefined) return [];
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l !== '');
}

/** One line's explanation as text for a terminal. */
export function render(e: LineExplanation): string {
  const out = [`line: ${e.line}`];
  const p = e.parse;
  switch (p.result) {
    case 'rejected': {
      // The caret goes under the byte offset (columns count characters).
      const col = Buffer.from(e.line).subarray(0, p.at).toString('utf8').length;
      out.push(`  rejected: ${p.reason} at byte ${p.at}`, `    ${e.line}`, `    ${' '.repeat(col)}^`);
      break;
    }
    case 'metric':
      out.push(`  parsed: ${p.kind}, ${p.values} value${p.values === 1 ? '' : 's'}, sample rate ${p.rate}`);
      break;
    case 'event':
      out.push(`  parsed: event ${JSON.stringify(p.title)} (sent to the backends that take events)`);
      break;
    case 'service_check':
      out.push(
        `  parsed: service check ${JSON.stringify(p.name)}, status ${p.status} (sent to the backends that take them)`,
      );
      break;
  }
  if (e.dropped !== undefined) out.push(`  not aggregated (${e.dropped.reason}): ${e.dropped.detail}`);
  if (e.series !== undefined) {
    const s = e.series;
    out.push(`  series: ${s.kind} ${s.name} tags [${s.tags.join(', ')}] host ${JSON.stringify(s.host)}`);
  }
  for (const b of e.backends) {
    const x = b.explanation;
    if (x === undefined) {
      out.push(`  ${b.backend}: (this backend does not explain itself)`);
      continue;
    }
    out.push(
      x.leftOut !== undefined
        ? `  ${b.backend}: left out (${x.leftOut.reason}): ${x.leftOut.detail}`
        : `  ${b.backend}: sends ${x.emits.length} item${x.emits.length === 1 ? '' : 's'}`,
    );
    for (const n of x.notes ?? []) out.push(`    ${n}`);
    for (const line of x.emits) out.push(`    ${line}`);
  }
  return out.join('\n') + '\n';
}
