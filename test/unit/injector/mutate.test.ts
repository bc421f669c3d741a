import { expect } from 'chai';
import { admit, type AdmissionContext } from '../../../src/injector/mutate.js';
import { validateSettings, type InjectorSettings } from '../../../src/injector/settings.js';
import { checkDaemonFlags, DAEMON_FLAG_KEYS } from '../../../src/injector/injector.js';
import { parseQuantity } from '../../../src/injector/quantity.js';
import {
  kubectlPod,
  patchedPod,
  referenceReview,
  reviewOf,
  sidecarOf,
  validatePod,
  withAnnotations,
} from '../../support/admission.js';

type Obj = Record<string, unknown>;

function settings(over: Obj = {}): InjectorSettings {
  const v = validateSettings({ image: 'ghcr.io/statsd-sepagent/statsd-sepagent:0.1.0', ...over });
  if (v.settings === undefined) throw new Error(JSON.stringify(v.issues));
  return v.settings;
}

function context(over: Obj = {}): AdmissionContext {
  return {
    settings: settings(over),
    ownNamespace: 'statsd-system',
    lookupClass: (name) =>
      name === 'default'
        ? { key: 'config.toml' }
        : name === 'yamly'
          ? { key: 'config.yaml' }
          : `class "${name}" does not exist`,
    knownKeys: DAEMON_FLAG_KEYS,
    checkFlags: checkDaemonFlags,
  };
}

function answer(review: Obj, ctx = context(), namespaceOptIn = false): { response: Obj; result: string; pod: Obj } {
  const a = admit(review, ctx, namespaceOptIn);
  if (!a.ok) throw new Error(a.message);
  const response = a.review['response'] as Obj;
  expect(response['uid']).to.equal((review['request'] as Obj)['uid']);
  return { response, result: a.result, pod: patchedPod(review, response) };
}

describe('injector: admission', () => {
  it('injects a native sidecar into the reference pod: valid pod, config of the class, Downward API, restricted', () => {
    const review = referenceReview();
    const { response, result, pod } = answer(review);
    expect(result).to.equal('injected');
    expect(response['allowed']).to.equal(true);
    validatePod(pod);
    const meta = pod['metadata'] as { annotations: Obj; labels: Obj };
    expect(meta.annotations['statsd-sepagent.io/status']).to.equal('injected');
    expect(meta.labels['statsd-sepagent.io/class']).to.equal('default');
    expect(meta.labels['app']).to.equal('checkout');
    const spec = pod['spec'] as { initContainers: Obj[]; containers: Obj[]; volumes: Obj[] };
    expect(spec.containers.map((c) => c['name'])).to.deep.equal(['envoy']);
    const c = spec.initContainers[0]!;
    expect(c['restartPolicy']).to.equal('Always');
    expect(c['args']).to.deep.equal([
      '--max-workers=1',
      '--config-path=/etc/statsd-sepagent/config.toml',
      '--metrics-addr=127.0.0.1:8125',
      '--web-addr=:8181',
      '--log-format=json',
      '--shutdown-timeout=5000ms',
    ]);
    expect(c['securityContext']).to.deep.include({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      privileged: false,
    });
    expect(c['resources']).to.deep.equal({ requests: { cpu: '50m', memory: '192Mi' }, limits: {} });
    // The envoy container already names a port "statsd": the sidecar's stays unnamed.
    expect(c['ports']).to.deep.equal([
      { containerPort: 8125, protocol: 'UDP' },
      { name: 'statsd-web', containerPort: 8181, protocol: 'TCP' },
    ]);
    expect((c['env'] as Obj[]).map((e) => e['name'])).to.deep.equal([
      'POD_NAMESPACE',
      'POD_NAME',
      'NODE_NAME',
      'NODE_OPTIONS',
      'STATSD_SEPAGENT_V8_FLAGS',
    ]);
    // A sidecar's young generation is 1 MB (the image's default is 4 MB, for a busy tier).
    expect((c['env'] as Obj[])[3]).to.deep.equal({ name: 'NODE_OPTIONS', value: '--max-semi-space-size=1' });
    // …and no mid-tier compiler (~5 MB less per pod).
    expect((c['env'] as Obj[])[4]).to.deep.equal({ name: 'STATSD_SEPAGENT_V8_FLAGS', value: '--no-maglev' });
    expect(spec.volumes).to.deep.equal([
      { name: 'statsd-sepagent-config', configMap: { name: 'statsd-sepagent-default' } },
      {
        name: 'statsd-sepagent-podinfo',
        downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
          ],
        },
      },
      { name: 'statsd-sepagent-tmp', emptyDir: { sizeLimit: '16Mi' } },
    ]);
  });

  it('classic variant: a second container with a preStop wait; pods made by kubectl (deployment and job)', () => {
    for (const kind of ['deployment', 'job'] as const) {
      const review = reviewOf(kubectlPod(kind, 'web', { 'statsd-sepagent.io/inject': 'true' }), 'team-a');
      // The job's sidecar keeps the image's node options (nodeOptions '').
      const { pod } = answer(
        review,
        context({ nativeSidecar: false, ...(kind === 'job' ? { nodeOptions: '', v8Flags: '' } : {}) }),
      );
      validatePod(pod);
      const spec = pod['spec'] as { initContainers?: Obj[]; containers: Obj[] };
      expect(spec.initContainers, kind).to.equal(undefined);
      // kubectl names the container after the image (deployment) or the job.
      expect(spec.containers.map((c) => c['name'])).to.deep.equal([
        kind === 'job' ? 'web' : 'nginx',
        'statsd-sepagent',
      ]);
      expect(spec.containers[1]!['restartPolicy']).to.equal(undefined);
      expect(spec.containers[1]!['lifecycle']).to.deep.equal({
        preStop: { exec: { command: ['node', '-e', 'setTimeout(() => {}, 5000)'] } },
      });
      for (const name of ['NODE_OPTIONS', 'STATSD_SEPAGENT_V8_FLAGS'])
        expect(
          (spec.containers[1]!['env'] as Obj[]).some((e) => e['name'] === name),
          `${kind} ${name}`,
        ).to.equal(kind === 'deployment');
    }
  });

  it('applies every per-pod annotation', () => {
    const review = withAnnotations(referenceReview(), {
      'statsd-sepagent.io/inject': 'true',
      'statsd-sepagent.io/class': 'yamly',
      'statsd-sepagent.io/image': 'registry.local:5000/team/statsd-sepagent:0.2@sha256:' + 'a'.repeat(64),
      'statsd-sepagent.io/cpu-request': '100m',
      'statsd-sepagent.io/cpu-limit': '1',
      'statsd-sepagent.io/memory-request': '64Mi',
      'statsd-sepagent.io/memory-limit': '1Gi',
      'statsd-sepagent.io/sepagent-host': 'sepagent.monitoring.svc',
      'statsd-sepagent.io/sepagent-port': '5555',
      'statsd-sepagent.io/extra-flags': '--percent-threshold=90 --verbose',
    });
    const { pod } = answer(review);
    validatePod(pod);
    const c = sidecarOf(pod)!;
    expect(c['image']).to.match(/^registry\.local:5000\/team\/statsd-sepagent:0\.2@sha256:a+$/);
    expect(c['resources']).to.deep.equal({
      requests: { cpu: '100m', memory: '64Mi' },
      limits: { cpu: '1', memory: '1Gi' },
    });
    expect((c['args'] as string[]).slice(1, 2)).to.deep.equal(['--config-path=/etc/statsd-sepagent/config.yaml']);
    expect((c['args'] as string[]).slice(-2)).to.deep.equal(['--percent-threshold=90', '--verbose']);
    expect((c['env'] as Obj[]).slice(5)).to.deep.equal([
      { name: 'GSD_SEPAGENT_HOST', value: 'sepagent.monitoring.svc' },
      { name: 'GSD_SEPAGENT_PORT', value: '5555' },
    ]);
    expect(((pod['metadata'] as Obj)['labels'] as Obj)['statsd-sepagent.io/class']).to.equal('yamly');
  });

  it('denies a pod with bad annotations, naming each one', () => {
    const review = withAnnotations(referenceReview(), {
      'statsd-sepagent.io/inject': 'true',
      'statsd-sepagent.io/class': 'nope',
      'statsd-sepagent.io/image': 'UPPER CASE',
      'statsd-sepagent.io/memory-request': '2Gi',
      'statsd-sepagent.io/memory-limit': '1Gi',
      'statsd-sepagent.io/cpu-limit': 'lots',
      'statsd-sepagent.io/sepagent-port': '70000',
      'statsd-sepagent.io/sepagent-host': 'bad_host!',
      'statsd-sepagent.io/extra-flags': '--config-path=/x --no-such-flag=1 --flush-interval=soon plain',
    });
    const a = admit(review, context(), false);
    expect(a.ok && a.result).to.equal('denied');
    const response = (a as { review: Obj }).review['response'] as Obj;
    expect(response['allowed']).to.equal(false);
    expect(response['patch']).to.equal(undefined);
    const message = (response['status'] as Obj)['message'] as string;
    for (const part of [
      'annotation statsd-sepagent.io/class: class "nope" does not exist',
      'annotation statsd-sepagent.io/image: "UPPER CASE" is not an image reference',
      'annotation statsd-sepagent.io/cpu-limit: "lots" is not a Kubernetes quantity',
      'annotation statsd-sepagent.io/memory-request: request 2Gi is above the limit 1Gi',
      'annotation statsd-sepagent.io/sepagent-host: "bad_host!" is not a host name or IP address',
      'annotation statsd-sepagent.io/sepagent-port: "70000" is not a port (1-65535)',
      'annotation statsd-sepagent.io/extra-flags: --config-path is set by the injector and cannot be changed',
      'annotation statsd-sepagent.io/extra-flags: --no-such-flag is not a statsd-sepagent flag',
      'annotation statsd-sepagent.io/extra-flags: "plain" is not a --flag or --flag=value',
      'annotation statsd-sepagent.io/extra-flags: --flush-interval: must be a duration such as "10s", "500ms" or "1m30s", got "soon"',
    ])
      expect(message).to.contain(part);
  });

  it('with invalidAnnotations=warn, admits the pod untouched with warnings', () => {
    const review = withAnnotations(referenceReview(), {
      'statsd-sepagent.io/inject': 'true',
      'statsd-sepagent.io/sepagent-port': 'x',
    });
    const { response, result, pod } = answer(review, context({ invalidAnnotations: 'warn' }));
    expect(result).to.equal('warned');
    expect(response['allowed']).to.equal(true);
    expect(response['patch']).to.equal(undefined);
    expect(response['warnings']).to.deep.equal([
      'statsd-sepagent sidecar not injected: annotation statsd-sepagent.io/sepagent-port: "x" is not a port (1-65535)',
    ]);
    expect(sidecarOf(pod)).to.equal(undefined);
  });

  it('is idempotent: a patched pod reviewed again (reinvocation) is not changed twice', () => {
    const review = referenceReview();
    const { pod } = answer(review);
    const again = reviewOf(pod, 'shop');
    const second = answer(again);
    expect(second.result).to.equal('already-injected');
    expect(second.response['patch']).to.equal(undefined);
    // A pod that carries the sidecar in its own spec (copied YAML) is left alone too.
    const manual = structuredClone(pod);
    delete ((manual['metadata'] as Obj)['annotations'] as Obj)['statsd-sepagent.io/status'];
    expect(answer(reviewOf(manual, 'shop')).result).to.equal('already-injected');
  });

  it('opt-in rules: annotation, namespace label with opt-out, own namespace and kube-system never', () => {
    const plain = withAnnotations(referenceReview(), {});
    expect(answer(plain).result).to.equal('skipped');
    expect(answer(plain, context(), true).result).to.equal('injected');
    const optOut = withAnnotations(referenceReview(), { 'statsd-sepagent.io/inject': 'false' });
    expect(answer(optOut, context(), true).result).to.equal('skipped');
    for (const ns of ['statsd-system', 'kube-system']) {
      const r = referenceReview();
      (r['request'] as Obj)['namespace'] = ns;
      expect(answer(r, context(), true).result).to.equal('excluded');
    }
    const update = referenceReview();
    (update['request'] as Obj)['operation'] = 'UPDATE';
    expect(answer(update).result).to.equal('skipped');
    const bad = withAnnotations(referenceReview(), { 'statsd-sepagent.io/inject': 'yes' });
    expect(answer(bad).result).to.equal('denied');
  });

  it('opting in by label (what the webhook objectSelector matches), which wins over the annotation', () => {
    const labelled = (labels: Record<string, string>, annotations: Record<string, string> = {}): Obj => {
      const r = withAnnotations(referenceReview(), annotations);
      (((r['request'] as Obj)['object'] as Obj)['metadata'] as Obj)['labels'] = labels;
      return r;
    };
    expect(answer(labelled({ 'statsd-sepagent.io/inject': 'true' })).result).to.equal('injected');
    expect(
      answer(labelled({ 'statsd-sepagent.io/inject': 'false' }, { 'statsd-sepagent.io/inject': 'true' })).result,
    ).to.equal('skipped');
    expect(answer(labelled({ 'statsd-sepagent.io/inject': 'false' }), context(), true).result).to.equal('skipped');
    expect(answer(labelled({ app: 'web' }, { 'statsd-sepagent.io/inject': 'true' })).result).to.equal('injected');
    expect(answer(labelled({ 'statsd-sepagent.io/inject': 'maybe' })).result).to.equal('denied');
  });

  it('answers a malformed review with a message, never a throw', () => {
    const cases: Array<[unknown, string]> = [
      [[], 'not a JSON object'],
      [{ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1beta1', request: {} }, 'admission.k8s.io/v1'],
      [{ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1' }, 'has no request'],
      [{ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1', request: { kind: {} } }, 'uid'],
      [
        {
          kind: 'AdmissionReview',
          apiVersion: 'admission.k8s.io/v1',
          request: { uid: 'u', kind: { kind: 'Pod', group: '' }, operation: 'CREATE', object: { spec: 1 } },
        },
        'spec.containers',
      ],
    ];
    for (const [body, message] of cases) {
      const a = admit(body, context(), false);
      expect(a.ok, message).to.equal(false);
      expect((a as { message: string }).message).to.contain(message);
    }
  });

  it('reads Kubernetes quantities', () => {
    expect(parseQuantity('50m')).to.be.closeTo(0.05, 1e-12);
    expect(parseQuantity('192Mi')).to.equal(192 * 2 ** 20);
    expect(parseQuantity('1e3')).to.equal(1000);
    expect(parseQuantity('.5')).to.equal(0.5);
    for (const bad of ['', '-1', '1.2.3', 'Mi', '5 Mi', '1mi']) expect(parseQuantity(bad), bad).to.equal(undefined);
  });

  it('settings name their bad keys', () => {
    const v = validateSettings({ image: '', nativeSidecar: 'maybe', colour: 1, resources: { requests: { cpu: 'x' } } });
    expect(v.settings).to.equal(undefined);
    expect(v.issues.map((i) => i.path)).to.deep.equal(['colour', 'image', 'resources.requests.cpu', 'nativeSidecar']);
  });
});
