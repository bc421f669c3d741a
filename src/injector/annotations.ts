import { isIP } from 'node:net';
import { Checker } from '../shared/check.js';
import type { ConfigIssue } from '../shared/errors.js';
import { checkResources, type Resources } from './quantity.js';
import { DNS_LABEL, type InjectorSettings } from './settings.js';

/** The annotation (and label) prefix. */
export const PREFIX = 'statsd-sepagent.io/';

/** Pod annotations the injector reads (all under {@link PREFIX}). */
export const ANNOTATIONS = {
  /** `"true"` opts a pod in, `"false"` out (also in a namespace labelled for injection). */
  inject: `${PREFIX}inject`,
  class: `${PREFIX}class`,
  image: `${PREFIX}image`,
  cpuRequest: `${PREFIX}cpu-request`,
  cpuLimit: `${PREFIX}cpu-limit`,
  memoryRequest: `${PREFIX}memory-request`,
  memoryLimit: `${PREFIX}memory-limit`,
  sepagentHost: `${PREFIX}sepagent-host`,
  sepagentPort: `${PREFIX}sepagent-port`,
  /** Daemon flags: `--key=value` separated by spaces, or a JSON list of them. */
  extraFlags: `${PREFIX}extra-flags`,
  /** Written by the injector: `injected`. */
  status: `${PREFIX}status`,
} as const;

/** The label an injected pod gets (the reconciler finds the namespaces to serve by it). */
export const CLASS_LABEL = `${PREFIX}class`;
/** A namespace with this label set to `enabled` has every pod injected unless it opts out. */
export const NAMESPACE_LABEL = `${PREFIX}inject`;

/** Flags the injector sets itself: an annotation may not change them. */
const OWNED_FLAGS = new Set([
  'config-path',
  'configmap',
  'configmap-namespace',
  'configmap-key',
  'kubeconfig',
  'max-workers',
  'metrics-addr',
  'web-addr',
]);

/** What a pod's annotations decide, with the settings' defaults filled in. */
export interface PodChoices {
  className: string;
  image: string;
  resources: Resources;
  sepagentHost: string;
  sepagentPort: number;
  /** Daemon flags, `--key=value`. */
  flags: string[];
}

/** Checks daemon flags (`{key: value}`) as the daemon would; returns the problems. */
export type FlagChecker = (flags: Record<string, string | boolean>) => ConfigIssue[];

/** A problem with one annotation. */
export interface AnnotationProblem {
  annotation: string;
  message: string;
}

const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$/;
// An image reference: [registry[:port]/]path[:tag][@digest].
const IMAGE =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/**
 * Splits `--a=1 --b` (or `["--a=1", "--b"]`) into flags; each must be a known daemon key
 * the injector does not own. Problems name the flag.
 */
export function parseFlags(
  text: string,
  knownKeys: ReadonlySet<string>,
): { flags: Record<string, string | boolean>; args: string[]; problems: string[] } {
  let tokens: unknown;
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      tokens = JSON.parse(trimmed) as unknown;
    } catch {
      return { flags: {}, args: [], problems: ['is not a JSON list of strings'] };
    }
    if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string'))
      return { flags: {}, args: [], problems: ['is not a JSON list of strings'] };
  } else tokens = trimmed === '' ? [] : trimmed.split(/\s+/);
  const flags: Record<string, string | boolean> = {};
  const args: string[] = [];
  const problems: string[] = [];
  for (const t of tokens as string[]) {
    const m = /^--([a-z0-9][a-z0-9-]*)(?:=(.*))?$/s.exec(t);
    if (m === null) {
      problems.push(`"${t}" is not a --flag or --flag=value`);
      continue;
    }
    const key = m[1]!;
    if (!knownKeys.has(key)) problems.push(`--${key} is not a statsd-sepagent flag`);
    else if (OWNED_FLAGS.has(key)) problems.push(`--${key} is set by the injector and cannot be changed`);
    else {
      flags[key] = m[2] ?? true;
      args.push(t);
    }
  }
  return { flags, args, problems };
}

/**
 * Reads a pod's annotations into {@link PodChoices}, validating each: every problem
 * names its annotation. `knownClass` says whether a class can be used.
 */
export function readAnnotations(
  annotations: Readonly<Record<string, string>>,
  settings: InjectorSettings,
  env: { knownKeys: ReadonlySet<string>; checkFlags: FlagChecker; knownClass: (name: string) => string | undefined },
): { choices: PodChoices; problems: AnnotationProblem[] } {
  const problems: AnnotationProblem[] = [];
  const problem = (annotation: string, message: string): void => {
    problems.push({ annotation, message });
  };
  const a = (k: string): string | undefined => {
    const v = annotations[k];
    return v === undefined ? undefined : v.trim();
  };

  const className = a(ANNOTATIONS.class) ?? settings.defaultClass;
  if (!DNS_LABEL.test(className)) problem(ANNOTATIONS.class, `"${className}" is not a class name (a DNS-1123 label)`);
  else {
    const why = env.knownClass(className);
    if (why !== undefined) problem(ANNOTATIONS.class, why);
  }

  const image = a(ANNOTATIONS.image) ?? settings.image;
  if (!IMAGE.test(image)) problem(ANNOTATIONS.image, `"${image}" is not an image reference`);

  const c = new Checker();
  const resources: Record<string, Record<string, string>> = {
    requests: { ...settings.resources.requests },
    limits: { ...settings.resources.limits },
  };
  const byPath: Record<string, string> = {};
  for (const [ann, part, name] of [
    [ANNOTATIONS.cpuRequest, 'requests', 'cpu'],
    [ANNOTATIONS.cpuLimit, 'limits', 'cpu'],
    [ANNOTATIONS.memoryRequest, 'requests', 'memory'],
    [ANNOTATIONS.memoryLimit, 'limits', 'memory'],
  ] as const) {
    const v = a(ann);
    byPath[`resources.${part}.${name}`] = ann;
    if (v !== undefined) resources[part]![name] = v;
  }
  const checked = checkResources(c, resources, 'resources');
  for (const i of c.issues) problem(byPath[i.path] ?? ANNOTATIONS.cpuRequest, i.message);

  const sepagentHost = a(ANNOTATIONS.sepagentHost) ?? settings.sepagentHost;
  if (sepagentHost !== '' && isIP(sepagentHost) === 0 && !HOSTNAME.test(sepagentHost))
    problem(ANNOTATIONS.sepagentHost, `"${sepagentHost}" is not a host name or IP address`);
  const portText = a(ANNOTATIONS.sepagentPort);
  let sepagentPort = settings.sepagentPort;
  if (portText !== undefined) {
    sepagentPort = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(sepagentPort >= 1 && sepagentPort <= 65535))
      problem(ANNOTATIONS.sepagentPort, `"${portText}" is not a port (1-65535)`);
  }

  const flags: string[] = [];
  for (const [source, text] of [
    ['settings.extraArgs', JSON.stringify(settings.extraArgs)],
    [ANNOTATIONS.extraFlags, a(ANNOTATIONS.extraFlags)],
  ] as const) {
    if (text === undefined) continue;
    const parsed = parseFlags(text, env.knownKeys);
    for (const p of parsed.problems) problem(source, p);
    for (const i of env.checkFlags(parsed.flags))
      if (i.severity === 'error') problem(source, `--${i.path}: ${i.message}`);
    flags.push(...parsed.args);
  }

  return {
    choices: { className, image, resources: checked, sepagentHost, sepagentPort, flags },
    problems,
  };
}
