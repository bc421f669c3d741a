import { readUtf8FileSync } from '../shared/documents.js';
import type { Checker } from '../shared/check.js';
import { isPlainObject } from '../shared/check.js';
import { errorMessage } from '../shared/errors.js';

/** The `[pod-tags]` section, resolved: the tags to add and the files they came from. */
export interface PodTagsConfig {
  /** `name:value` tags added to every metric and event, after `default-tags`. */
  tags: string[];
  /** The Downward API files read (followed: a change re-applies the configuration). */
  files: string[];
  /**
   * The same values as OpenTelemetry resource attributes, named by its Kubernetes
   * conventions: `k8s.namespace.name`, `k8s.pod.name`, `k8s.node.name`,
   * `k8s.pod.label.<key>`, `k8s.pod.annotation.<key>` (the `otlp` backend's resource).
   */
  resource: Record<string, string>;
}

export const POD_TAGS_SECTION = 'pod-tags';
export const POD_TAGS_KEYS = ['fields', 'labels', 'annotations', 'labels-file', 'annotations-file'] as const;

/** Pod fields and the Downward API environment variables they are read from. */
export const POD_FIELD_ENV: Readonly<Record<string, string>> = {
  namespace: 'POD_NAMESPACE',
  pod: 'POD_NAME',
  node: 'NODE_NAME',
};

/** Pod fields as OpenTelemetry resource attributes (its Kubernetes semantic conventions). */
const POD_FIELD_ATTRIBUTE: Readonly<Record<string, string>> = {
  namespace: 'k8s.namespace.name',
  pod: 'k8s.pod.name',
  node: 'k8s.node.name',
};

/** Where a Downward API volume with `metadata.labels` and `metadata.annotations` is usually mounted. */
export const DEFAULT_LABELS_FILE = '/etc/podinfo/labels';
export const DEFAULT_ANNOTATIONS_FILE = '/etc/podinfo/annotations';

const NONE: PodTagsConfig = { tags: [], files: [], resource: {} };

/**
 * A selection entry: `key` (the tag is named after it) or `key=tag` (renamed). Label
 * keys may hold `/` and `.`, so only the last `=` splits.
 */
function selection(entry: string): { key: string; tag: string } {
  const i = entry.lastIndexOf('=');
  if (i <= 0 || i === entry.length - 1) return { key: entry.trim(), tag: entry.trim() };
  return { key: entry.slice(0, i).trim(), tag: entry.slice(i + 1).trim() };
}

/** Go's escapes that JSON has not (`\a`, `\v`, `\xNN`, `\UNNNNNNNN`, octal), made JSON. */
function goQuotedToJson(q: string): string {
  return q.replace(/\\(a|v|x[0-9a-fA-F]{2}|U[0-9a-fA-F]{8}|[0-7]{3}|'|.)/g, (m: string, e: string) => {
    if (e === 'a') return '\\u0007';
    if (e === 'v') return '\\u000b';
    if (e === "'") return "'";
    if (e[0] === 'x' || /^[0-7]{3}$/.test(e)) {
      const code = e[0] === 'x' ? parseInt(e.slice(1), 16) : parseInt(e, 8);
      return `\\u${code.toString(16).padStart(4, '0')}`;
    }
    if (e[0] === 'U') {
      const cp = String.fromCodePoint(parseInt(e.slice(1), 16));
      return cp
        .split('')
        .map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
        .join('');
    }
    return m;
  });
}

/**
 * Parses a Downward API `labels` or `annotations` file: one `key="value"` per line, the
 * value quoted as Go's strconv.Quote writes it. Lines that do not parse are returned in
 * `bad` (1-based line numbers); the others still count.
 */
export function parseDownwardApiFile(text: string): { values: Map<string, string>; bad: number[] } {
  const values = new Map<string, string>();
  const bad: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^([^=]+)=("(?:[^"\\]|\\.)*")$/.exec(line.trim());
    if (m === null) {
      bad.push(i + 1);
      return;
    }
    try {
      values.set(m[1]!, JSON.parse(goQuotedToJson(m[2]!)) as string);
    } catch {
      bad.push(i + 1);
    }
  });
  return { values, bad };
}

/**
 * Validates `[pod-tags]` and resolves it now: pod fields from the Downward API
 * environment variables, chosen labels and annotations from the Downward API files.
 * A missing variable, file or label is a warning (that tag is left out), never an error:
 * the daemon runs outside Kubernetes too.
 */
export function validatePodTags(c: Checker, raw: unknown, env: NodeJS.ProcessEnv): PodTagsConfig {
  if (raw === undefined) return NONE;
  if (!isPlainObject(raw)) {
    c.error(POD_TAGS_SECTION, 'must be a section with fields, labels, annotations, labels-file, annotations-file');
    return NONE;
  }
  c.unknownKeys(raw, POD_TAGS_KEYS, POD_TAGS_SECTION);
  const path = (k: string): string => `${POD_TAGS_SECTION}.${k}`;
  const tags: string[] = [];
  const files: string[] = [];
  const resource: Record<string, string> = {};
  const tagNames = new Map<string, string>();
  const add = (where: string, tag: string, value: string, attribute: string): void => {
    const other = tagNames.get(tag);
    if (other !== undefined) {
      c.error(where, `tag name "${tag}" is also produced by ${other}; rename one with "key=tag"`);
      return;
    }
    tagNames.set(tag, where);
    if (value === '') return;
    tags.push(`${tag}:${value}`);
    resource[attribute] = value;
  };

  c.list(raw['fields'], path('fields'), []).forEach((entry) => {
    const { key, tag } = selection(entry);
    const variable = POD_FIELD_ENV[key];
    if (variable === undefined) {
      c.error(path('fields'), `unknown pod field "${key}"; use ${Object.keys(POD_FIELD_ENV).join(', ')}`);
      return;
    }
    const value = env[variable] ?? '';
    if (value === '') c.warn(path('fields'), `${variable} is not set (Downward API); no "${tag}" tag`);
    add(`fields "${entry}"`, tag, value, POD_FIELD_ATTRIBUTE[key]!);
  });

  for (const kind of ['labels', 'annotations'] as const) {
    const chosen = c.list(raw[kind], path(kind), []);
    const fileKey = `${kind}-file`;
    const file = c
      .string(raw[fileKey], path(fileKey), kind === 'labels' ? DEFAULT_LABELS_FILE : DEFAULT_ANNOTATIONS_FILE)
      .trim();
    if (chosen.length === 0) continue;
    files.push(file);
    let values: Map<string, string>;
    try {
      const parsed = parseDownwardApiFile(readUtf8FileSync(file));
      values = parsed.values;
      if (parsed.bad.length > 0)
        c.warn(path(fileKey), `${file}: lines ${parsed.bad.join(', ')} are not key="value"; skipped`);
    } catch (err) {
      c.warn(
        path(fileKey),
        `cannot read ${file} (mount the Downward API ${kind}): ${errorMessage(err)}; no ${kind} tags`,
      );
      continue;
    }
    for (const entry of chosen) {
      const { key, tag } = selection(entry);
      add(`${kind} "${entry}"`, tag, values.get(key) ?? '', `k8s.pod.${kind.slice(0, -1)}.${key}`);
    }
  }
  return { tags, files, resource };
}
