import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { DaemonError, errorMessage } from './errors.js';
import { yaml } from './yaml.js';

/** Formats a structured document (a config document, a mapping file) can be written in. */
export type DocumentFormat = 'toml' | 'yaml' | 'json';

/**
 * Bounds on every structured document read: a larger one is refused whole, before or right
 * after parsing, so no document can exhaust the stack, the heap or the event loop. 1 MiB is
 * also what a Kubernetes ConfigMap can hold.
 */
export const DOCUMENT_LIMITS = {
  /** UTF-8 bytes of the text. */
  bytes: 1 << 20,
  /** Nesting of maps and lists (a config document needs 3, a mapping file 5). */
  depth: 32,
  /** Maps, lists and scalars in all, after YAML aliases are expanded. */
  values: 100_000,
} as const;

/** A document's value, or the one-line reason it was refused. Never thrown. */
export type ParsedDocument =
  | { readonly ok: true; readonly value: unknown; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: string };

/**
 * Decodes a file's bytes as UTF-8, refusing invalid sequences (a replaced byte would change
 * a key or a value silently): throws naming the line.
 */
export function decodeUtf8(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (isUtf8(bytes)) return text;
  throw new DaemonError(
    'ERR_INPUT',
    `invalid UTF-8 on line ${text.slice(0, text.indexOf('\uFFFD')).split('\n').length}`,
  );
}

/** Reads a text file that must be UTF-8; throws if it cannot be read or decoded. */
export async function readUtf8File(path: string): Promise<string> {
  return decodeUtf8(await readFile(path));
}

/** {@link readUtf8File}, for synchronous validation. */
export function readUtf8FileSync(path: string): string {
  return decodeUtf8(readFileSync(path));
}

/**
 * Parses a TOML, YAML (1.2, core schema) or JSON document within {@link DOCUMENT_LIMITS}.
 * Nothing a document holds can make it throw: syntax errors name the line (and column),
 * and every limit names itself.
 */
export function parseStructured(text: string, format: DocumentFormat): ParsedDocument {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > DOCUMENT_LIMITS.bytes)
    return { ok: false, error: `the document is ${bytes} bytes, more than the limit of ${DOCUMENT_LIMITS.bytes}` };
  const warnings: string[] = [];
  let value: unknown;
  try {
    if (format === 'toml') value = parseToml(text, { maxDepth: DOCUMENT_LIMITS.depth });
    else if (format === 'yaml') {
      // logLevel silent: YAML warnings are returned instead of becoming process warnings.
      const d = yaml().parseDocument(text, { prettyErrors: true, logLevel: 'silent' });
      const syntax = d.errors[0];
      if (syntax !== undefined) throw syntax;
      for (const w of d.warnings) warnings.push(`YAML: ${firstLine(w.message)}`);
      // Aliases are expanded here: an alias bomb is refused by the YAML library's own
      // count and by the value limit below.
      value = d.toJS({ maxAliasCount: 1000 }) as unknown;
    } else value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `${format.toUpperCase()} syntax error: ${describeSyntaxError(err, text)}` };
  }
  const shape = measure(value);
  if (shape.depth > DOCUMENT_LIMITS.depth)
    return { ok: false, error: `the document is nested deeper than the limit of ${DOCUMENT_LIMITS.depth} levels` };
  if (shape.values > DOCUMENT_LIMITS.values)
    return { ok: false, error: `the document holds more than the limit of ${DOCUMENT_LIMITS.values} values` };
  return { ok: true, value, warnings };
}

/** Depth and value count, without recursion, stopping as soon as a limit is passed. */
function measure(root: unknown): { depth: number; values: number } {
  const stack: Array<[unknown, number]> = [[root, 1]];
  let depth = 0;
  let values = 0;
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    values++;
    if (d > depth) depth = d;
    if (depth > DOCUMENT_LIMITS.depth || values > DOCUMENT_LIMITS.values) break;
    if (typeof v === 'object' && v !== null) for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return { depth, values };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function describeSyntaxError(err: unknown, text: string): string {
  const msg = firstLine(errorMessage(err));
  const e = err as { line?: number; column?: number; linePos?: Array<{ line: number; col: number }> };
  if (typeof e.line === 'number')
    return `line ${e.line}, column ${e.column ?? 0}: ${msg.replace(/^Invalid TOML document: /, '')}`;
  if (Array.isArray(e.linePos) && e.linePos[0] !== undefined) return msg;
  const pos = /position (\d+)/.exec(msg);
  if (pos !== null) return `line ${text.slice(0, Number(pos[1])).split('\n').length}: ${msg}`;
  return msg;
}
