import { isPlainObject } from '../shared/check.js';
import { V8_FLAGS_ENV } from '../shared/v8-flags.js';
import { DEFAULT_ANNOTATIONS_FILE } from '../config/pod-tags.js';
import { ANNOTATIONS, CLASS_LABEL, readAnnotations, type FlagChecker, type PodChoices } from './annotations.js';
import type { InjectorSettings } from './settings.js';

/** The sidecar container's name (also how an injected pod is recognised). */
export const CONTAINER_NAME = 'statsd-sepagent';
/** The ConfigMap a class is copied to in each namespace with injected pods. */
export const copyName = (className: string): string => `statsd-sepagent-${className}`;

const CONFIG_DIR = '/etc/statsd-sepagent';
const PODINFO_DIR = DEFAULT_ANNOTATIONS_FILE.slice(0, DEFAULT_ANNOTATIONS_FILE.lastIndexOf('/'));
const VOLUMES = {
  config: 'statsd-sepagent-config',
  podinfo: 'statsd-sepagent-podinfo',
  tmp: 'statsd-sepagent-tmp',
} as const;

/** What the webhook decided about one review, for metrics and logs. */
export type AdmissionResult = 'injected' | 'skipped' | 'already-injected' | 'excluded' | 'denied' | 'warned';

/** One JSON Patch (RFC 6902) operation; the injector only adds. */
export interface PatchOp {
  op: 'add';
  path: string;
  value: unknown;
}

/** A known class: the key of its config document (the sidecar reads `/etc/statsd-sepagent/<key>`). */
export interface ClassInfo {
  key: string;
}

/** What the webhook needs besides the review. */
export interface AdmissionContext {
  settings: InjectorSettings;
  /** The injector's own namespace: its pods are never mutated (nor kube-system's). */
  ownNamespace: string;
  /** A class by name; a string says why it cannot be used. */
  lookupClass: (name: string) => ClassInfo | string;
  knownKeys: ReadonlySet<string>;
  checkFlags: FlagChecker;
}

/** The webhook's answer: an AdmissionReview to send with 200, or a 400 message. */
export type AdmissionAnswer =
  | { ok: true; review: Record<string, unknown>; result: AdmissionResult; reason: string }
  | { ok: false; message: string };

/** JSON Pointer escaping (RFC 6901) of one path segment. */
const seg = (s: string): string => s.replaceAll('~', '~0').replaceAll('/', '~1');

type Obj = Record<string, unknown>;
const objectAt = (o: Obj | undefined, k: string): Obj | undefined => {
  const v = o?.[k];
  return isPlainObject(v) ? v : undefined;
};
const listAt = (o: Obj | undefined, k: string): Obj[] | undefined => {
  const v = o?.[k];
  return Array.isArray(v) ? v.filter((x) => isPlainObject(x)) : undefined;
};
const stringMap = (o: Obj | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
};

/**
 * Answers one `admission.k8s.io/v1` AdmissionReview for a pod. `namespaceOptIn`: the
 * request came through the webhook for namespaces labelled for injection, where pods are
 * injected unless they opt out; otherwise only pods annotated `inject: "true"` are.
 */
export function admit(body: unknown, ctx: AdmissionContext, namespaceOptIn: boolean): AdmissionAnswer {
  if (!isPlainObject(body)) return { ok: false, message: 'the body is not a JSON object' };
  if (body['kind'] !== 'AdmissionReview' || body['apiVersion'] !== 'admission.k8s.io/v1')
    return { ok: false, message: 'expected kind AdmissionReview, apiVersion admission.k8s.io/v1' };
  const request = objectAt(body, 'request');
  if (request === undefined) return { ok: false, message: 'the AdmissionReview has no request' };
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '') return { ok: false, message: 'request.uid is missing' };
  const answer = (result: AdmissionResult, reason: string, response: Obj = {}): AdmissionAnswer & { ok: true } => ({
    ok: true,
    result,
    reason,
    review: {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, allowed: true, ...response },
    },
  });

  const kind = objectAt(request, 'kind');
  if (kind?.['kind'] !== 'Pod' || (kind['group'] ?? '') !== '' || request['operation'] !== 'CREATE')
    return answer('skipped', 'not a pod being created');
  const pod = objectAt(request, 'object');
  if (pod === undefined) return { ok: false, message: 'request.object (the pod) is missing' };
  const metadata = objectAt(pod, 'metadata') ?? {};
  const spec = objectAt(pod, 'spec');
  if (spec === undefined || listAt(spec, 'containers') === undefined)
    return { ok: false, message: 'request.object is not a pod: spec.containers is missing' };
  const namespace =
    typeof request['namespace'] === 'string' && request['namespace'] !== ''
      ? request['namespace']
      : typeof metadata['namespace'] === 'string'
        ? metadata['namespace']
        : '';
  if (namespace === ctx.ownNamespace || namespace === 'kube-system')
    return answer('excluded', `pods in ${namespace} are never injected`);

  const annotations = stringMap(objectAt(metadata, 'annotations'));
  // Opting in is by label (the webhook's objectSelector matches it); the annotation of
  // earlier versions is still read where no label says otherwise.
  const label = stringMap(objectAt(metadata, 'labels'))[ANNOTATIONS.inject]?.trim().toLowerCase();
  const opt = label ?? annotations[ANNOTATIONS.inject]?.trim().toLowerCase();
  if (opt !== undefined && opt !== 'true' && opt !== 'false')
    return deny(uid, ctx, [{ annotation: ANNOTATIONS.inject, message: `must be "true" or "false", got "${opt}"` }]);
  if (opt === 'false' || (opt !== 'true' && !namespaceOptIn)) return answer('skipped', 'not opted in');
  const containers = [...(listAt(spec, 'containers') ?? []), ...(listAt(spec, 'initContainers') ?? [])];
  if (annotations[ANNOTATIONS.status] === 'injected' || containers.some((c) => c['name'] === CONTAINER_NAME))
    return answer('already-injected', 'the pod already has the sidecar');

  let classInfo: ClassInfo | undefined;
  const { choices, problems } = readAnnotations(annotations, ctx.settings, {
    knownKeys: ctx.knownKeys,
    checkFlags: ctx.checkFlags,
    knownClass: (name) => {
      const c = ctx.lookupClass(name);
      if (typeof c === 'string') return c;
      classInfo = c;
      return undefined;
    },
  });
  if (problems.length > 0 || classInfo === undefined) return deny(uid, ctx, problems);

  const volumeNames = new Set((listAt(spec, 'volumes') ?? []).map((v) => v['name']));
  const taken = Object.values(VOLUMES).filter((v) => volumeNames.has(v));
  if (taken.length > 0)
    return deny(uid, ctx, [
      { annotation: ANNOTATIONS.inject, message: `the pod already has volumes named ${taken.join(', ')}` },
    ]);

  const patch = buildPatch(pod, choices, classInfo, ctx.settings);
  return answer('injected', `class ${choices.className}`, {
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
  });
}

/** A pod with bad annotations: denied with every problem named, or (`warn`) admitted untouched with warnings. */
function deny(
  uid: string,
  ctx: AdmissionContext,
  problems: Array<{ annotation: string; message: string }>,
): AdmissionAnswer {
  const lines = problems.map((p) => `annotation ${p.annotation}: ${p.message}`);
  const text = `statsd-sepagent injector: ${lines.join('; ')}`;
  const warn = ctx.settings.invalidAnnotations === 'warn';
  const response = warn
    ? { uid, allowed: true, warnings: lines.map((l) => `statsd-sepagent sidecar not injected: ${l}`) }
    : { uid, allowed: false, status: { code: 400, reason: 'BadRequest', message: text } };
  return {
    ok: true,
    result: warn ? 'warned' : 'denied',
    reason: text,
    review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response },
  };
}

/** The sidecar container for a pod's choices. */
export function sidecarContainer(
  choices: PodChoices,
  cls: ClassInfo,
  s: InjectorSettings,
  portNames: Set<string>,
): Obj {
  const fieldEnv = (name: string, fieldPath: string): Obj => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const env: Obj[] = [
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('NODE_NAME', 'spec.nodeName'),
  ];
  if (s.nodeOptions !== '') env.push({ name: 'NODE_OPTIONS', value: s.nodeOptions });
  if (s.v8Flags !== '') env.push({ name: V8_FLAGS_ENV, value: s.v8Flags });
  if (choices.sepagentHost !== '') env.push({ name: 'GSD_SEPAGENT_HOST', value: choices.sepagentHost });
  if (choices.sepagentPort !== 0) env.push({ name: 'GSD_SEPAGENT_PORT', value: String(choices.sepagentPort) });
  const port = (name: string, containerPort: number, protocol: string): Obj =>
    portNames.has(name) ? { containerPort, protocol } : { name, containerPort, protocol };
  const probe = (path: string, extra: Obj): Obj => ({ httpGet: { path, port: s.webPort }, ...extra });
  const c: Obj = {
    name: CONTAINER_NAME,
    image: choices.image,
    imagePullPolicy: s.imagePullPolicy,
    args: [
      '--max-workers=1',
      `--config-path=${CONFIG_DIR}/${cls.key}`,
      `--metrics-addr=${s.statsdAddress}:${s.statsdPort}`,
      `--web-addr=:${s.webPort}`,
      `--log-format=${s.logFormat}`,
      `--shutdown-timeout=${s.shutdownTimeout}`,
      ...choices.flags,
    ],
    env,
    ports: [port('statsd', s.statsdPort, 'UDP'), port('statsd-web', s.webPort, 'TCP')],
    startupProbe: probe('/readyz', { periodSeconds: 1, failureThreshold: 60 }),
    readinessProbe: probe('/readyz', { periodSeconds: 10 }),
    livenessProbe: probe('/healthz', { periodSeconds: 10, failureThreshold: 3 }),
    resources: choices.resources,
    securityContext: s.securityContext,
    volumeMounts: [
      { name: VOLUMES.config, mountPath: CONFIG_DIR, readOnly: true },
      { name: VOLUMES.podinfo, mountPath: PODINFO_DIR, readOnly: true },
      { name: VOLUMES.tmp, mountPath: '/tmp' },
    ],
  };
  if (s.nativeSidecar) c['restartPolicy'] = 'Always';
  // Classic sidecars run where the preStop sleep action may not exist (before 1.30): the image's node waits.
  else if (s.preStopSleepSeconds > 0)
    c['lifecycle'] = {
      preStop: { exec: { command: ['node', '-e', `setTimeout(() => {}, ${s.preStopSleepSeconds * 1000})`] } },
    };
  return c;
}

/** The volumes the sidecar mounts. */
function sidecarVolumes(className: string): Obj[] {
  return [
    { name: VOLUMES.config, configMap: { name: copyName(className) } },
    {
      name: VOLUMES.podinfo,
      downwardAPI: {
        items: [
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        ],
      },
    },
    { name: VOLUMES.tmp, emptyDir: { sizeLimit: '16Mi' } },
  ];
}

/** Appends `values` to the list at `path` (creating it when the pod has none). */
function appendAll(ops: PatchOp[], parent: Obj, key: string, path: string, values: Obj[]): void {
  if (!Array.isArray(parent[key])) ops.push({ op: 'add', path, value: values });
  else for (const v of values) ops.push({ op: 'add', path: `${path}/-`, value: v });
}

/** Sets `key` of the map at `path` (creating the map when the pod has none). */
function setAll(ops: PatchOp[], parent: Obj, key: string, path: string, values: Record<string, string>): void {
  if (!isPlainObject(parent[key])) ops.push({ op: 'add', path, value: values });
  else for (const [k, v] of Object.entries(values)) ops.push({ op: 'add', path: `${path}/${seg(k)}`, value: v });
}

function buildPatch(pod: Obj, choices: PodChoices, cls: ClassInfo, s: InjectorSettings): PatchOp[] {
  const metadata = objectAt(pod, 'metadata');
  const spec = objectAt(pod, 'spec')!;
  const ops: PatchOp[] = [];
  if (metadata === undefined) ops.push({ op: 'add', path: '/metadata', value: {} });
  const meta = metadata ?? {};
  setAll(ops, meta, 'annotations', '/metadata/annotations', { [ANNOTATIONS.status]: 'injected' });
  setAll(ops, meta, 'labels', '/metadata/labels', { [CLASS_LABEL]: choices.className });
  const portNames = new Set<string>();
  for (const c of [...(listAt(spec, 'containers') ?? []), ...(listAt(spec, 'initContainers') ?? [])])
    for (const p of listAt(c, 'ports') ?? []) if (typeof p['name'] === 'string') portNames.add(p['name']);
  const container = sidecarContainer(choices, cls, s, portNames);
  if (s.nativeSidecar) appendAll(ops, spec, 'initContainers', '/spec/initContainers', [container]);
  else appendAll(ops, spec, 'containers', '/spec/containers', [container]);
  appendAll(ops, spec, 'volumes', '/spec/volumes', sidecarVolumes(choices.className));
  return ops;
}
