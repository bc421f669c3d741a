import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import jsonpatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1/Pod';

type Obj = Record<string, unknown>;

/** The AdmissionReview fixture written from the Kubernetes API reference (a ReplicaSet's pod). */
export function referenceReview(): Obj {
  return JSON.parse(readFileSync('test/fixtures/admission/pod-create-review.json', 'utf8')) as Obj;
}

/**
 * A pod as `kubectl create <kind> --dry-run=client -o json` writes its template (Debian's
 * kubernetes-client; no API server needed), with the given annotations.
 */
export function kubectlPod(kind: 'deployment' | 'job', name: string, annotations: Record<string, string>): Obj {
  const out = execFileSync('kubectl', ['create', kind, name, '--image=nginx:1.27', '--dry-run=client', '-o', 'json'], {
    encoding: 'utf8',
  });
  const made = JSON.parse(out) as { spec: { template: Obj } };
  const template = made.spec.template;
  const metadata = (template['metadata'] ?? {}) as Obj;
  return { apiVersion: 'v1', kind: 'Pod', ...template, metadata: { ...metadata, annotations } };
}

/** An AdmissionReview creating `pod` in `namespace`. */
export function reviewOf(pod: Obj, namespace: string, operation = 'CREATE'): Obj {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation,
      userInfo: { username: 'tester' },
      object: pod,
      oldObject: null,
      dryRun: false,
    },
  };
}

/** A review's pod with annotations replaced. */
export function withAnnotations(review: Obj, annotations: Record<string, string>): Obj {
  const r = structuredClone(review);
  const pod = (r['request'] as Obj)['object'] as { metadata: Obj };
  pod.metadata['annotations'] = annotations;
  return r;
}

/** The pod of a review, after applying the response's JSON Patch (with fast-json-patch, validating each op). */
export function patchedPod(review: Obj, response: Obj): Obj {
  const pod = structuredClone((review['request'] as Obj)['object']) as Obj;
  const patch = response['patch'];
  if (patch === undefined) return pod;
  expectPatchType(response);
  const ops = JSON.parse(Buffer.from(patch as string, 'base64').toString('utf8')) as jsonpatch.Operation[];
  return jsonpatch.applyPatch(pod, ops, true, false).newDocument;
}

function expectPatchType(response: Obj): void {
  if (response['patchType'] !== 'JSONPatch') throw new Error(`patchType is ${String(response['patchType'])}`);
}

/** Validates a pod against the Kubernetes schema (kubernetes-models); throws naming the bad field. */
export function validatePod(pod: Obj): void {
  new Pod(pod).validate();
}

/** The injected sidecar of a patched pod (native or classic). */
export function sidecarOf(pod: Obj): Obj | undefined {
  const spec = pod['spec'] as { containers?: Obj[]; initContainers?: Obj[] };
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])].find((c) => c['name'] === 'statsd-sepagent');
}
