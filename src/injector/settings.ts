import { Checker, isPlainObject } from '../shared/check.js';
import type { ConfigIssue } from '../shared/errors.js';
import { checkResources, type Resources } from './quantity.js';

/** What every injected sidecar gets unless a pod's annotations say otherwise. */
export interface InjectorSettings {
  /** The sidecar image. */
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** A native sidecar (an init container with `restartPolicy: Always`, Kubernetes ≥ 1.29) or a second container. */
  nativeSidecar: boolean;
  /** The class of pods that name none. */
  defaultClass: string;
  /** A bad annotation: `deny` the pod with a message naming it, or `warn` and inject nothing. */
  invalidAnnotations: 'deny' | 'warn';
  /** SepAgent address given to every sidecar (`''`/0: the class's `[sepagent]` section decides). */
  sepagentHost: string;
  sepagentPort: number;
  /** The sidecar's StatsD listener, on the pod's loopback. */
  statsdAddress: string;
  statsdPort: number;
  /** The sidecar's /metrics, /healthz and /readyz port. */
  webPort: number;
  logFormat: 'json' | 'text';
  /** The sidecar's `shutdown-timeout` (Go duration). */
  shutdownTimeout: string;
  /** Classic sidecars keep receiving this long after the pod starts terminating (0: off). */
  preStopSleepSeconds: number;
  /** The sidecar's NODE_OPTIONS (`''`: the image's). */
  nodeOptions: string;
  /** V8 options the sidecar sets at start-up (STATSD_SEPAGENT_V8_FLAGS; `''`: none). */
  v8Flags: string;
  /** Arguments added to every sidecar (validated like the extra-flags annotation). */
  extraArgs: string[];
  resources: Resources;
  /** The sidecar's container securityContext (default: the "restricted" Pod Security Standard). */
  securityContext: Record<string, unknown>;
}

export const SETTINGS_KEYS = [
  'image',
  'imagePullPolicy',
  'nativeSidecar',
  'defaultClass',
  'invalidAnnotations',
  'sepagentHost',
  'sepagentPort',
  'statsdAddress',
  'statsdPort',
  'webPort',
  'logFormat',
  'shutdownTimeout',
  'preStopSleepSeconds',
  'nodeOptions',
  'v8Flags',
  'extraArgs',
  'resources',
  'securityContext',
] as const;

export const RESTRICTED_SECURITY_CONTEXT: Readonly<Record<string, unknown>> = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** A DNS-1123 label: a class name, and what a ConfigMap name built from it must stay. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Validates the injector's settings document (YAML or JSON, keys as in
 * {@link SETTINGS_KEYS}); every problem is collected with its key.
 */
export function validateSettings(raw: unknown): { settings: InjectorSettings | undefined; issues: ConfigIssue[] } {
  const c = new Checker();
  const r = raw === undefined || raw === null ? {} : raw;
  if (!isPlainObject(r)) {
    c.error('', 'the settings document must be a mapping');
    return { settings: undefined, issues: c.issues };
  }
  c.unknownKeys(r, SETTINGS_KEYS, '');
  const image = c.string(r['image'], 'image', '').trim();
  if (image === '') c.error('image', 'is required (the statsd-sepagent image the sidecars run)');
  const defaultClass = c.string(r['defaultClass'], 'defaultClass', 'default');
  if (!DNS_LABEL.test(defaultClass)) c.error('defaultClass', `"${defaultClass}" is not a DNS-1123 label`);
  const resources = checkResources(c, r['resources'] ?? { requests: { cpu: '50m', memory: '192Mi' } }, 'resources');
  const securityContext = r['securityContext'] ?? RESTRICTED_SECURITY_CONTEXT;
  if (!isPlainObject(securityContext)) c.error('securityContext', 'must be a mapping');
  const extraArgs = r['extraArgs'] ?? [];
  if (!Array.isArray(extraArgs) || extraArgs.some((a) => typeof a !== 'string'))
    c.error('extraArgs', 'must be a list of strings');
  const settings: InjectorSettings = {
    image,
    imagePullPolicy: c.oneOf(
      r['imagePullPolicy'],
      'imagePullPolicy',
      ['Always', 'IfNotPresent', 'Never'],
      'IfNotPresent',
      true,
    ),
    nativeSidecar: c.bool(r['nativeSidecar'], 'nativeSidecar', true),
    defaultClass,
    invalidAnnotations: c.oneOf(r['invalidAnnotations'], 'invalidAnnotations', ['deny', 'warn'], 'deny', true),
    sepagentHost: c.string(r['sepagentHost'], 'sepagentHost', '').trim(),
    sepagentPort: c.int(r['sepagentPort'], 'sepagentPort', 0, 0, 65535),
    statsdAddress: c.string(r['statsdAddress'], 'statsdAddress', '127.0.0.1').trim(),
    statsdPort: c.int(r['statsdPort'], 'statsdPort', 8125, 1, 65535),
    webPort: c.int(r['webPort'], 'webPort', 8181, 1, 65535),
    logFormat: c.oneOf(r['logFormat'], 'logFormat', ['json', 'text'], 'json', true),
    shutdownTimeout: `${c.duration(r['shutdownTimeout'], 'shutdownTimeout', 5000, 100)}ms`,
    preStopSleepSeconds: c.int(r['preStopSleepSeconds'], 'preStopSleepSeconds', 5, 0, 3600),
    nodeOptions: c.string(r['nodeOptions'], 'nodeOptions', '--max-semi-space-size=1').trim(),
    v8Flags: c.string(r['v8Flags'], 'v8Flags', '--no-maglev').trim(),
    extraArgs: Array.isArray(extraArgs) ? (extraArgs as string[]) : [],
    resources,
    securityContext: isPlainObject(securityContext) ? securityContext : {},
  };
  const ok = !c.issues.some((i) => i.severity === 'error');
  return { settings: ok ? settings : undefined, issues: c.issues };
}
