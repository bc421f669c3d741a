import { expect } from 'chai';
import { COMPONENTS } from '../../src/daemon/components.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Agent, request } from 'undici';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { configFromDocument, formatFromName } from '../../src/config/load.js';
import { CLI, CliProcess } from '../support/cli-process.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { FakeSepAgentListener } from '../support/fake-sepagent-listener.js';
import { sendUdp } from '../support/daemon-harness.js';
import { waitFor } from '../support/wait-for.js';

/** The real Helm 3 binary, fetched by scripts/get-helm.sh (run by `npm test`). */
const HELM = '.tools/bin/helm';
const CHART = 'charts/statsd-sepagent';
const NS = 'payments';

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  [k: string]: unknown;
};
type Container = Record<string, unknown> & {
  name: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  securityContext?: Record<string, unknown>;
};

function helm(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(HELM, args, { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Renders as `helm install` would on a cluster of that version with the Prometheus Operator's CRDs. */
function render(kubeVersion: string, valuesFiles: string[] = [], sets: string[] = [], crds = true): K8sObject[] {
  const args = ['template', 'rel', CHART, '-n', NS, '--kube-version', kubeVersion];
  if (crds) args.push('--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor');
  for (const f of valuesFiles) args.push('-f', f);
  for (const s of sets) args.push('--set', s);
  const r = helm(args);
  expect(r.code, r.stderr).to.equal(0);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** Validates an object against the Kubernetes OpenAPI schema of its kind (kubernetes-models). */
async function validate(obj: K8sObject): Promise<void> {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion : `v1`;
  const path = obj.apiVersion === 'v1' ? `kubernetes-models/v1/${obj.kind}` : `kubernetes-models/${group}/${obj.kind}`;
  const mod = (await import(path)) as Record<string, new (o: unknown) => { validate(): void }>;
  new mod[obj.kind]!(obj).validate();
}

function deployment(
  objs: K8sObject[],
): K8sObject & { spec: { template: { metadata: K8sObject['metadata']; spec: Record<string, unknown> } } } {
  return objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'rel-statsd-sepagent') as never;
}

function sidecarOf(objs: K8sObject[]): { container: Container; native: boolean } {
  const pod = deployment(objs).spec.template.spec as { initContainers?: Container[]; containers: Container[] };
  const init = pod.initContainers?.find((c) => c.name === 'statsd-sepagent');
  if (init !== undefined) return { container: init, native: true };
  return { container: pod.containers.find((c) => c.name === 'statsd-sepagent')!, native: false };
}

/** Container fields the chart may emit: catches typos the schema validator lets through. */
const CONTAINER_KEYS = new Set([
  'name',
  'image',
  'imagePullPolicy',
  'command',
  'args',
  'env',
  'ports',
  'startupProbe',
  'readinessProbe',
  'livenessProbe',
  'resources',
  'securityContext',
  'volumeMounts',
  'restartPolicy',
  'lifecycle',
]);

/** The Kubernetes versions every case renders at: before native sidecars, and a current one. */
const KUBE_VERSIONS = ['1.28.0', '1.31.0'] as const;

const VALUE_CASES: Array<{ name: string; files?: string[]; sets?: string[]; classic?: true }> = [
  { name: 'defaults' },
  { name: 'ci/classic-values', files: [`${CHART}/ci/classic-values.yaml`], classic: true },
  { name: 'ci/existing-configmap-values', files: [`${CHART}/ci/existing-configmap-values.yaml`] },
  { name: 'ci/full-values', files: [`${CHART}/ci/full-values.yaml`] },
  {
    name: 'sepagent endpoint from --set',
    sets: ['sepagent.host=10.1.2.3', 'sepagent.port=6000', 'sidecar.mode=classic'],
    classic: true,
  },
];

/** Every values case at every version: native where the cluster has native sidecars and the values do not say classic. */
const CASES = VALUE_CASES.flatMap((c) =>
  KUBE_VERSIONS.map((kube) => ({
    ...c,
    name: `${c.name} on ${kube}`,
    kube,
    native: c.classic !== true && kube !== '1.28.0',
  })),
);

describe('Helm chart (real helm, rendered objects validated against the Kubernetes schemas)', function () {
  this.timeout(60_000);

  it('passes helm lint --strict with the defaults and every ci/ values file', () => {
    const files = readdirSync(`${CHART}/ci`).map((f) => `${CHART}/ci/${f}`);
    expect(files.length).to.be.greaterThanOrEqual(4);
    for (const f of [undefined, ...files]) {
      const r = helm(['lint', '--strict', CHART, ...(f === undefined ? [] : ['-f', f])]);
      expect(r.code, `${f}: ${r.stdout}${r.stderr}`).to.equal(0);
    }
  });

  for (const c of CASES) {
    it(`renders valid, restricted, least-privilege objects: ${c.name}`, async () => {
      const objs = render(c.kube, c.files, c.sets);
      const values = { files: c.files ?? [], sets: c.sets ?? [] };
      for (const o of objs) {
        if (o.apiVersion === 'monitoring.coreos.com/v1') continue; // a CRD: checked below
        await validate(o);
      }
      const kinds = objs.map((o) => o.kind);
      expect(kinds).to.not.include.members(['ClusterRole', 'ClusterRoleBinding']);

      // The sidecar: native or classic by Kubernetes version and sidecar.mode.
      const { container: side, native } = sidecarOf(objs);
      expect(native, 'native sidecar').to.equal(c.native);
      expect(side['restartPolicy']).to.equal(native ? 'Always' : undefined);
      expect(Object.keys(side).filter((k) => !CONTAINER_KEYS.has(k))).to.deep.equal([]);

      // Args: one worker and the watched ConfigMap, whose name the Role grants.
      const args = side.args!;
      expect(args).to.include('--max-workers=1');
      const cmArg = args.find((a) => a.startsWith('--configmap='));
      expect(cmArg).to.not.equal(undefined);
      const cmName = cmArg!.slice('--configmap='.length);
      const key = args.find((a) => a.startsWith('--configmap-key='))!.slice('--configmap-key='.length);
      expect(args).to.include('--metrics-addr=127.0.0.1:8125');

      // RBAC: get/list/watch on that one ConfigMap, create/patch on events, nothing else.
      const role = objs.find((o) => o.kind === 'Role') as K8sObject & { rules: unknown[] };
      expect(role.rules).to.deep.equal([
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [cmName], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ]);
      const binding = objs.find((o) => o.kind === 'RoleBinding') as K8sObject & { subjects: Array<{ name: string }> };
      const podSpec = deployment(objs).spec.template.spec;
      expect(binding.subjects[0]!.name).to.equal(podSpec['serviceAccountName']);

      // The restricted Pod Security Standard, for every container and the pod.
      const pod = podSpec as {
        containers: Container[];
        initContainers?: Container[];
        securityContext?: Record<string, unknown>;
      };
      for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) expect(pod[k as keyof typeof pod]).to.equal(undefined);
      expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const ctr of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const sc = ctr.securityContext ?? {};
        expect(sc['allowPrivilegeEscalation'], ctr.name).to.equal(false);
        expect(sc['runAsNonRoot'], ctr.name).to.equal(true);
        expect((sc['capabilities'] as { drop: string[] }).drop, ctr.name).to.deep.equal(['ALL']);
        expect(sc['seccompProfile'], ctr.name).to.deep.equal({ type: 'RuntimeDefault' });
        expect(sc['readOnlyRootFilesystem'], ctr.name).to.equal(true);
        expect(sc['privileged'] ?? false, ctr.name).to.equal(false);
      }

      // Probes on the HTTP port, declared on the container.
      const portNames = new Set(side.ports!.map((p) => p.name));
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const p = side[probe] as { httpGet: { port: string; path: string } };
        expect(p.httpGet.port, probe).to.equal('web');
        expect(portNames.has(p.httpGet.port)).to.equal(true);
      }
      expect(side.ports).to.deep.include({ name: 'statsd', containerPort: 8125, protocol: 'UDP' });

      // Config changes apply live: no checksum annotation to roll the pods.
      const annotations = deployment(objs).spec.template.metadata.annotations ?? {};
      expect(Object.keys(annotations).filter((k) => k.startsWith('checksum/'))).to.deep.equal([]);

      // The application gets the sidecar's address.
      const app = pod.containers.find((x) => x.name !== 'statsd-sepagent')!;
      expect(app['env']).to.deep.include.members([
        { name: 'STATSD_HOST', value: '127.0.0.1' },
        { name: 'STATSD_PORT', value: '8125' },
      ]);

      // The rendered ConfigMap: named as the args say, holds the SepAgent endpoint from
      // values, and passes the daemon's own validation.
      const cm = objs.find((o) => o.kind === 'ConfigMap') as (K8sObject & { data: Record<string, string> }) | undefined;
      if (values.files.some((f) => f.includes('existing-configmap'))) {
        expect(cm).to.equal(undefined);
        expect(cmName).to.equal('team-statsd-config');
        return;
      }
      expect(cm!.metadata.name).to.equal(cmName);
      const text = cm!.data[key]!;
      const { config, issues } = configFromDocument(text, formatFromName(key)!, {}, COMPONENTS);
      expect(
        issues.filter((i) => i.severity === 'error'),
        text,
      ).to.deep.equal([]);
      const hostSet = values.sets.find((s) => s.startsWith('sepagent.host='))?.split('=')[1];
      const portSet = values.sets.find((s) => s.startsWith('sepagent.port='))?.split('=')[1];
      const section = config!.backendConfigs['sepagent'] as { host: string; port: number };
      if (hostSet !== undefined) expect(section.host).to.equal(hostSet);
      if (portSet !== undefined) expect(section.port).to.equal(Number(portSet));

      const sm = objs.find((o) => o.kind === 'ServiceMonitor') as
        (K8sObject & { spec: { endpoints: unknown[] } }) | undefined;
      if (sm !== undefined) {
        expect(sm.spec.endpoints).to.deep.equal([{ port: 'web', path: '/metrics', interval: '30s' }]);
        expect(kinds).to.include('Service');
      }
    });
  }

  it("the rendered ConfigMap passes the built CLI's check-config for every values file", () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-config-'));
    for (const f of readdirSync(`${CHART}/ci`).filter((x) => !x.includes('existing'))) {
      const cm = render('1.30.0', [`${CHART}/ci/${f}`]).find((o) => o.kind === 'ConfigMap') as K8sObject & {
        data: Record<string, string>;
      };
      const file = join(dir, `${f}.toml`);
      writeFileSync(file, cm.data['config.toml']!);
      const out = execFileSync(process.execPath, [CLI, 'check-config', file], { encoding: 'utf8' });
      expect(out).to.match(/: OK \(backends: /);
    }
  });

  it('rejects bad values at install time, naming the value', () => {
    for (const [set, message] of [
      ['sepagent.port=70000', 'sepagent.port'],
      ['sidecar.mode=sometimes', 'sidecar.mode'],
      ['config.backends={graphitee}', 'config.backends'],
      ['config.settings.flush-intervall=1s', 'flush-intervall'],
      ['config.backendSections.datadog.api_kee=x', 'api_kee'],
      ['config.flushInterval=often', 'config.flushInterval'],
      ["sepagent.sepRegexp=it's", 'sepagent.sepRegexp'],
      ['sidecar.nonsense=1', 'nonsense'],
      // Allowed values and bounds come from the daemon's key table.
      ['config.settings.envoy-tag-extraction=both', 'envoy-tag-extraction'],
      ['config.settings.max-series=-1', 'max-series'],
    ] as const) {
      const r = helm(['template', 'rel', CHART, '--set', set]);
      expect(r.code, set).to.not.equal(0);
      expect(r.stderr, set).to.contain(message);
    }
  });

  it('prometheus.enabled adds the backend, its mapping to the ConfigMap and the scrape annotations', () => {
    const mapping = 'mappings:\n- match: shop.*.requests\n  name: shop_requests_total\n  labels:\n    service: "$1"\n';
    const objs = render('1.30.0', [], ['prometheus.enabled=true', `prometheus.mapping=${mapping}`]);
    const cm = objs.find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
    const toml = cm.data['config.toml']!;
    expect(toml).to.contain('backends = "sepagent prometheus"');
    expect(toml).to.contain(`[prometheus]\npath = "/metrics"\nmapping = '''\n${mapping}'''`);
    const dir = mkdtempSync(join(tmpdir(), 'chart-prom-'));
    writeFileSync(join(dir, 'config.toml'), toml);
    expect(
      execFileSync(process.execPath, [CLI, 'check-config', join(dir, 'config.toml')], { encoding: 'utf8' }),
    ).to.match(/: OK \(backends: sepagent prometheus\)/);
    const pod = deployment(objs).spec.template.metadata as { annotations?: Record<string, string> };
    expect(pod.annotations).to.deep.equal({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8181',
      'prometheus.io/path': '/metrics',
    });
    const off = render('1.30.0', [], ['prometheus.enabled=true', 'prometheus.scrapeAnnotations=false']);
    expect((deployment(off).spec.template.metadata as { annotations?: unknown }).annotations).to.equal(undefined);
    const plain = render('1.30.0').find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
    expect(plain.data['config.toml']).to.not.contain('prometheus');
  });

  it('grafanaDashboard.enabled ships dashboards/statsd-sepagent.json as a ConfigMap for Grafana', () => {
    const objs = render('1.30.0', [], ['grafanaDashboard.enabled=true']);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard')) as K8sObject & {
      data: Record<string, string>;
    };
    expect(cm.metadata.labels?.['grafana_dashboard']).to.equal('1');
    expect(JSON.parse(cm.data['statsd-sepagent.json']!)).to.deep.equal(
      JSON.parse(readFileSync('dashboards/statsd-sepagent.json', 'utf8')),
    );
    expect(render('1.30.0').some((o) => o.metadata.name.endsWith('-dashboard'))).to.equal(false);
  });

  it('aggregator.enabled deploys the central tier and points the sidecars at it; both configs pass validation', async () => {
    for (const replicas of [1, 3]) {
      const objs = render(
        '1.30.0',
        [],
        ['aggregator.enabled=true', `aggregator.replicas=${replicas}`, 'aggregator.sepagentHost=10.0.0.7'],
      );
      for (const o of objs) if (o.apiVersion !== 'monitoring.coreos.com/v1') await validate(o);
      const name = 'rel-statsd-sepagent-aggregator';
      type Workload = K8sObject & {
        spec: {
          serviceName?: string;
          selector: { matchLabels: Record<string, string> };
          template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
        };
      };
      const tier = objs.find(
        (o) => o.metadata.name === name && ['Deployment', 'StatefulSet'].includes(o.kind),
      ) as Workload;
      expect(tier.kind).to.equal(replicas === 1 ? 'Deployment' : 'StatefulSet');
      const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === name) as K8sObject & {
        spec: { clusterIP?: string; selector: Record<string, string>; ports: Array<{ name: string; port: number }> };
      };
      expect(svc.spec.clusterIP).to.equal(replicas === 1 ? undefined : 'None');
      if (replicas > 1) expect(tier.spec.serviceName).to.equal(name);
      expect(svc.spec.ports).to.deep.include({ name: 'ingest', port: 8080, targetPort: 'ingest', protocol: 'TCP' });
      // Selectors: the Service finds the tier's pods; the application's Deployment does not.
      const podLabels = tier.spec.template.metadata.labels;
      const matches = (sel: Record<string, string>): boolean =>
        Object.entries(sel).every(([k, v]) => podLabels[k] === v);
      expect(matches(svc.spec.selector)).to.equal(true);
      expect(matches(tier.spec.selector.matchLabels)).to.equal(true);
      expect(
        matches(
          (deployment(objs).spec as unknown as { selector: { matchLabels: Record<string, string> } }).selector
            .matchLabels,
        ),
      ).to.equal(false);

      const data = (n: string): string =>
        (
          objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === n) as K8sObject & {
            data: Record<string, string>;
          }
        ).data['config.toml']!;
      const sidecar = configFromDocument(data('rel-statsd-sepagent-config'), 'toml', {}, COMPONENTS);
      expect(sidecar.issues.filter((i) => i.severity === 'error')).to.deep.equal([]);
      expect(sidecar.config!.backends).to.deep.equal(['forwarder']);
      const endpoints =
        replicas === 1
          ? [`http://${name}.${NS}.svc:8080`]
          : [0, 1, 2].map((i) => `http://${name}-${i}.${name}.${NS}.svc:8080`);
      expect(sidecar.config!.backendConfigs['forwarder']).to.deep.include({ apiEndpoints: endpoints });
      const tierConfig = configFromDocument(data(`${name}-config`), 'toml', {}, COMPONENTS);
      expect(tierConfig.issues.filter((i) => i.severity === 'error')).to.deep.equal([]);
      expect(tierConfig.config!.backends).to.deep.equal(['sepagent']);
      expect((tierConfig.config!.receivers['http'] as { servers: unknown[] }).servers[0]).to.deep.include({
        address: ':8080',
        ingestion: true,
      });
      // The tier watches its own ConfigMap, which the Role grants.
      const args = tier.spec.template.spec.containers[0]!.args!;
      expect(args).to.include(`--configmap=${name}-config`);
      const role = objs.find((o) => o.kind === 'Role') as K8sObject & { rules: Array<{ resourceNames?: string[] }> };
      expect(role.rules[0]!.resourceNames).to.deep.equal(['rel-statsd-sepagent-config', `${name}-config`]);
    }
  });

  it('sidecar.unixSocket shares a Unix socket with the application through an emptyDir, group-writable', async () => {
    for (const kube of ['1.28.0', '1.30.0']) {
      const objs = render(kube, [], ['sidecar.unixSocket.enabled=true']);
      for (const o of objs) if (o.apiVersion !== 'monitoring.coreos.com/v1') await validate(o);
      const pod = deployment(objs).spec.template.spec as {
        securityContext: Record<string, unknown>;
        volumes: Array<{ name: string; emptyDir?: unknown }>;
        containers: Container[];
      };
      const { container } = sidecarOf(objs);
      expect(container.args).to.include.members([
        '--unix-socket=/var/run/statsd/dsd.socket',
        '--unix-socket-mode=0620',
      ]);
      const mounts = (c: Container): unknown =>
        (c['volumeMounts'] as Array<{ name: string; mountPath: string }>).find(
          (m) => m.name === 'statsd-sepagent-socket',
        );
      const app = pod.containers.find((c) => c.name === 'app')!;
      expect(mounts(container)).to.deep.equal({ name: 'statsd-sepagent-socket', mountPath: '/var/run/statsd' });
      expect(mounts(app)).to.deep.equal({ name: 'statsd-sepagent-socket', mountPath: '/var/run/statsd' });
      expect(pod.volumes.find((v) => v.name === 'statsd-sepagent-socket')?.emptyDir).to.deep.equal({
        medium: 'Memory',
        sizeLimit: '1Mi',
      });
      expect(pod.securityContext['fsGroup']).to.equal(65532);
      expect(
        (app['env'] as Array<{ name: string; value?: string }>).filter((e) => e.name.endsWith('SOCKET')),
      ).to.deep.equal([
        { name: 'STATSD_SOCKET', value: '/var/run/statsd/dsd.socket' },
        { name: 'DD_DOGSTATSD_SOCKET', value: '/var/run/statsd/dsd.socket' },
      ]);
    }
    // Off by default: no socket, no fsGroup.
    const plain = deployment(render('1.30.0')).spec.template.spec as { securityContext: Record<string, unknown> };
    expect(plain.securityContext['fsGroup']).to.equal(undefined);
  });

  it('injector.enabled renders valid objects: webhook, least-privilege ClusterRole, PDB, default class, settings', async () => {
    for (const [kube, native] of [
      ['1.28.0', false],
      ['1.30.0', true],
    ] as const) {
      const objs = render(kube, [], ['injector.enabled=true', 'injector.excludeNamespaces={ops}']);
      for (const o of objs) if (o.apiVersion !== 'monitoring.coreos.com/v1') await validate(o);
      const name = 'rel-statsd-sepagent-injector';
      const get = <T>(kind: string, n = name): K8sObject & T =>
        objs.find((o) => o.kind === kind && o.metadata.name === n) as K8sObject & T;
      const webhook = get<{ webhooks: Array<Record<string, unknown>> }>('MutatingWebhookConfiguration');
      expect(webhook.webhooks.map((w) => w['name'])).to.deep.equal([
        'namespace.inject.statsd-sepagent.io',
        'pod.inject.statsd-sepagent.io',
      ]);
      for (const w of webhook.webhooks) {
        expect(w).to.deep.include({ sideEffects: 'None', failurePolicy: 'Ignore', timeoutSeconds: 5 });
        const sel = (w['namespaceSelector'] as { matchExpressions: Array<Record<string, unknown>> }).matchExpressions;
        expect(sel[1]).to.deep.equal({
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: ['kube-system', NS, 'ops'],
        });
      }
      const deploy = get<{ spec: { replicas: number; template: { spec: { containers: Container[] } } } }>('Deployment');
      expect(deploy.spec.replicas).to.equal(2);
      expect(deploy.spec.template.spec.containers[0]!.args!.slice(0, 2)).to.deep.equal([
        'injector',
        '--settings=/etc/statsd-sepagent-injector/settings.yaml',
      ]);
      expect(get<{ spec: { minAvailable: number } }>('PodDisruptionBudget').spec.minAvailable).to.equal(1);
      const role = get<{ rules: Array<{ resources: string[]; verbs: string[] }> }>('ClusterRole');
      expect(role.rules.map((r) => `${r.resources.join()}: ${r.verbs.join()}`)).to.deep.equal([
        'configmaps: get,list,watch,create,update,delete',
        'pods: list,watch',
        'events: create,patch',
      ]);
      const cm = get<{ data: Record<string, string> }>('ConfigMap');
      const { validateSettings } = await import('../../src/injector/settings.js');
      const settings = validateSettings(parseAllDocuments(cm.data['settings.yaml']!)[0]!.toJS());
      expect(settings.issues).to.deep.equal([]);
      expect(settings.settings!.nativeSidecar, kube).to.equal(native);
      const cls = get<{ data: Record<string, string> }>('ConfigMap', `${name}-class-default`);
      expect(cls.metadata.labels!['statsd-sepagent.io/class']).to.equal('default');
      const v = configFromDocument(cls.data['config.toml']!, 'toml', {}, COMPONENTS);
      expect(v.issues.filter((i) => i.severity === 'error')).to.deep.equal([]);
    }
  });

  it("the webhook's caBundle verifies the serving certificate the chart generates, for the Service's name", async () => {
    const objs = render('1.30.0', [], ['injector.enabled=true']);
    const name = 'rel-statsd-sepagent-injector';
    const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === `${name}-tls`) as K8sObject & {
      type: string;
      data: Record<string, string>;
    };
    expect(secret.type).to.equal('kubernetes.io/tls');
    const webhook = objs.find((o) => o.kind === 'MutatingWebhookConfiguration') as K8sObject & {
      webhooks: Array<{ clientConfig: { caBundle: string } }>;
    };
    const pem = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');
    const ca = new X509Certificate(pem(webhook.webhooks[0]!.clientConfig.caBundle));
    expect(webhook.webhooks[1]!.clientConfig.caBundle).to.equal(webhook.webhooks[0]!.clientConfig.caBundle);
    expect(pem(secret.data['ca.crt']!)).to.equal(ca.toString());
    const serving = new X509Certificate(pem(secret.data['tls.crt']!));
    expect(serving.checkIssued(ca)).to.equal(true);
    expect(serving.verify(ca.publicKey)).to.equal(true);
    expect(serving.checkHost(`${name}.${NS}.svc`)).to.equal(`${name}.${NS}.svc`);
    expect(serving.checkPrivateKey(createPrivateKey(pem(secret.data['tls.key']!)))).to.equal(true);

    // The injector serves that certificate, and a client trusting only the caBundle (as the
    // API server does) reaches it under the Service's name.
    const dir = mkdtempSync(join(tmpdir(), 'chart-injector-'));
    const settings = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as K8sObject & {
      data: Record<string, string>;
    };
    writeFileSync(join(dir, 'settings.yaml'), settings.data['settings.yaml']!);
    writeFileSync(join(dir, 'tls.crt'), pem(secret.data['tls.crt']!));
    writeFileSync(join(dir, 'tls.key'), pem(secret.data['tls.key']!));
    const api = await FakeKubeApi.start();
    const cli = new CliProcess([
      'injector',
      `--settings=${join(dir, 'settings.yaml')}`,
      `--tls-cert-file=${join(dir, 'tls.crt')}`,
      `--tls-key-file=${join(dir, 'tls.key')}`,
      '--listen=127.0.0.1:0',
      '--web-addr=',
      `--namespace=${NS}`,
      `--kubeconfig=${api.writeKubeconfig()}`,
    ]);
    try {
      await cli.waitForLog('statsd-sepagent injector running');
      const port = Number(
        String(cli.logs().find((l) => l['msg'] === 'injector webhook (https) listening')!['address'])
          .split(':')
          .pop(),
      );
      const agent = new Agent({ connect: { ca: ca.toString(), servername: `${name}.${NS}.svc` } });
      const r = await request(`https://127.0.0.1:${port}/healthz`, { dispatcher: agent });
      expect(r.statusCode).to.equal(200);
      await r.body.text();
      await agent.close();
    } finally {
      expect(await cli.stop()).to.equal(0);
      await api.stop();
    }
  });

  it('injector.certManager uses a cert-manager Certificate and inject-ca-from instead of a generated CA', () => {
    const objs = render('1.30.0', [], ['injector.enabled=true', 'injector.certManager=true']);
    const name = 'rel-statsd-sepagent-injector';
    expect(
      objs
        .filter((o) => o.apiVersion === 'cert-manager.io/v1')
        .map((o) => o.kind)
        .sort(),
    ).to.deep.equal(['Certificate', 'Issuer']);
    expect(objs.some((o) => o.kind === 'Secret' && o.metadata.name === `${name}-tls`)).to.equal(false);
    const webhook = objs.find((o) => o.kind === 'MutatingWebhookConfiguration') as K8sObject & {
      webhooks: Array<{ clientConfig: Record<string, unknown> }>;
    };
    expect(webhook.metadata.annotations!['cert-manager.io/inject-ca-from']).to.equal(`${NS}/${name}`);
    expect(webhook.webhooks[0]!.clientConfig['caBundle']).to.equal(undefined);
    const cert = objs.find((o) => o.kind === 'Certificate') as K8sObject & {
      spec: { secretName: string; dnsNames: string[] };
    };
    expect(cert.spec.secretName).to.equal(`${name}-tls`);
    expect(cert.spec.dnsNames[0]).to.equal(`${name}.${NS}.svc`);
  });

  it("forwarder.endpoint forwards to an existing tier; keepLocalBackends keeps the sidecar's own backends too", () => {
    const toml = (sets: string[]): string =>
      (render('1.30.0', [], sets).find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> })
        .data['config.toml']!;
    const only = configFromDocument(toml(['forwarder.endpoint=https://gostatsd.example:8443']), 'toml', {}, COMPONENTS);
    expect(only.config!.backends).to.deep.equal(['forwarder']);
    expect(only.config!.backendConfigs['forwarder']).to.deep.include({
      apiEndpoints: ['https://gostatsd.example:8443'],
    });
    const both = configFromDocument(
      toml(['forwarder.endpoint=http://tier:8080', 'forwarder.keepLocalBackends=true', 'forwarder.compress=false']),
      'toml',
      {},
      COMPONENTS,
    );
    expect(both.issues.filter((i) => i.severity === 'error')).to.deep.equal([]);
    expect(both.config!.backends).to.deep.equal(['sepagent', 'forwarder']);
    expect(both.config!.backendConfigs['forwarder']).to.deep.include({
      apiEndpoints: ['http://tier:8080'],
      compress: false,
    });
    expect(render('1.30.0').some((o) => o.metadata.name.includes('aggregator'))).to.equal(false);
    const r = helm(['template', 'rel', CHART, '--set', 'forwarder.endpoint=ftp://x']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('forwarder.endpoint');
  });

  it('credentials come from existing Secrets, as files or environment variables, in both tiers', async () => {
    const objs = render(
      '1.30.0',
      [],
      [
        'aggregator.enabled=true',
        'aggregator.sepagentHost=10.0.0.7',
        'secrets.files[0].name=datadog',
        'secrets.files[0].secretName=datadog-api-key',
        'secrets.env[0].name=DD_API_KEY',
        'secrets.env[0].secretName=datadog',
        'secrets.env[0].key=api-key',
      ],
    );
    for (const o of objs) if (o.apiVersion !== 'monitoring.coreos.com/v1') await validate(o);
    type Pod = { containers: Container[]; initContainers?: Container[]; volumes: Array<Record<string, unknown>> };
    const pods = objs
      .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
      .map((o) => (o as unknown as { spec: { template: { spec: Pod } } }).spec.template.spec);
    expect(pods).to.have.length(2);
    for (const pod of pods) {
      const daemon = [...pod.containers, ...(pod.initContainers ?? [])].find((c) => c.name !== 'app')!;
      expect(pod.volumes).to.deep.include({
        name: 'secret-datadog',
        secret: { secretName: 'datadog-api-key', defaultMode: 0o440 },
      });
      expect(daemon['volumeMounts']).to.deep.include({
        name: 'secret-datadog',
        mountPath: '/var/run/secrets/statsd-sepagent/datadog',
        readOnly: true,
      });
      expect(daemon['env']).to.deep.include({
        name: 'DD_API_KEY',
        valueFrom: { secretKeyRef: { name: 'datadog', key: 'api-key' } },
      });
    }
    // Nothing secret is in a ConfigMap.
    for (const cm of objs.filter((o) => o.kind === 'ConfigMap')) expect(JSON.stringify(cm)).to.not.contain('api-key');
  });

  it('renders the ServiceMonitor only where its CRD exists', () => {
    const sets = ['service.enabled=true', 'serviceMonitor.enabled=true'];
    expect(render('1.30.0', [], sets).some((o) => o.kind === 'ServiceMonitor')).to.equal(true);
    expect(render('1.30.0', [], sets, false).some((o) => o.kind === 'ServiceMonitor')).to.equal(false);
  });

  it('needs service.enabled for the ServiceMonitor, and says so', () => {
    const r = helm([
      'template',
      'rel',
      CHART,
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'service.enabled=false',
    ]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('serviceMonitor.enabled needs service.enabled');
  });

  it('runs the built daemon with the rendered args and ConfigMap; a helm upgrade of sepagent.port applies live', async () => {
    const [a, b] = [await FakeSepAgentListener.start(), await FakeSepAgentListener.start()];
    const api = await FakeKubeApi.start({ namespaces: [NS] });
    let cli: CliProcess | undefined;
    try {
      const install = render('1.30.0', [], [`sepagent.port=${a.port}`, 'config.flushInterval=200ms']);
      const cm = install.find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
      api.upsert(NS, cm.metadata.name, cm.data);
      // The sidecar's args as rendered, with ephemeral ports instead of 8125/8181, and the
      // fake API server instead of in-cluster credentials; POD_NAMESPACE as the downward API sets it.
      const args = sidecarOf(install).container.args!.map((x) =>
        x.startsWith('--metrics-addr=')
          ? '--metrics-addr=127.0.0.1:0'
          : x.startsWith('--web-addr=')
            ? '--web-addr=127.0.0.1:0'
            : x,
      );
      cli = new CliProcess([...args, '--kubeconfig', api.writeKubeconfig()], { POD_NAMESPACE: NS, POD_NAME: 'rel-0' });
      const ports = await cli.ready();
      await sendUdp(ports.udp, ['envoy.cluster.external_cluster_sep1.upstream_rq_total:1|c']);
      await waitFor(() => a.documents.length >= 1, 5000, 'a document at the installed endpoint');

      const upgrade = render('1.30.0', [], [`sepagent.port=${b.port}`, 'config.flushInterval=200ms']);
      const cm2 = upgrade.find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
      expect(cm2.metadata.name).to.equal(cm.metadata.name);
      const upgraded = api.upsert(NS, cm2.metadata.name, cm2.data); // what `helm upgrade` does to the ConfigMap
      const applied = await waitFor(() => api.eventsWithReason('ConfigApplied')[0], 5000, 'ConfigApplied');
      expect(applied['involvedObject']).to.deep.include({ resourceVersion: upgraded.metadata.resourceVersion });
      await sendUdp(ports.udp, ['envoy.cluster.external_cluster_sep1.upstream_rq_total:1|c']);
      await waitFor(() => b.documents.length >= 1, 5000, 'a document at the upgraded endpoint');
      expect(await cli.stop()).to.equal(0);
    } finally {
      if (cli !== undefined && cli.exitCode === undefined) await cli.stop('SIGKILL');
      await api.stop();
      await a.close();
      await b.close();
    }
  });

  it('renders manifests/ exactly as checked in (make manifests)', () => {
    const expected = readFileSync('manifests/statsd-sepagent.yaml', 'utf8');
    const r = spawnSync('bash', ['scripts/render-manifests.sh', '--stdout'], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout, 'manifests/ is stale: run make manifests').to.equal(expected);
  });

  describe('every helm install, template and upgrade command the docs write, run as written', () => {
    for (const cmd of documentedHelmCommands()) {
      it(`${cmd.file}: ${cmd.text.slice(0, 110)}`, async () => {
        for (const kube of KUBE_VERSIONS) {
          const r = helm([...cmd.args, '--kube-version', kube]);
          expect(r.code, `${kube}: ${r.stderr}`).to.equal(0);
          const objs = parseAllDocuments(r.stdout)
            .map((d) => d.toJS() as K8sObject | null)
            .filter((o): o is K8sObject => o !== null);
          expect(objs.length).to.be.greaterThan(0);
          for (const o of objs) await validate(o);
          // Every config document the install renders passes the daemon's own validation.
          for (const cm of objs.filter((o) => o.kind === 'ConfigMap')) {
            const text = (cm as K8sObject & { data?: Record<string, string> }).data?.['config.toml'];
            if (text === undefined) continue;
            const issues = configFromDocument(text, 'toml', {}, COMPONENTS).issues.filter(
              (i) => i.severity === 'error',
            );
            expect(issues, `${cm.metadata.name}:\n${text}`).to.deep.equal([]);
          }
          // The workload's pods must be admissible: a Deployment has containers.
          for (const d of objs.filter((o) => o.kind === 'Deployment')) {
            const spec = (
              d as unknown as { spec: { replicas?: number; template: { spec: { containers: unknown[] } } } }
            ).spec;
            expect(spec.template.spec.containers.length, d.metadata.name).to.be.greaterThan(0);
          }
        }
      });
    }
  });

  it('an injector-only install (workload.enabled=false) renders no workload, ConfigMap or Role of its own', async () => {
    for (const kube of KUBE_VERSIONS) {
      const objs = render(kube, [], ['injector.enabled=true', 'workload.enabled=false']);
      for (const o of objs) await validate(o);
      const names = objs.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(names.filter((n) => n.startsWith('Deployment/'))).to.deep.equal([
        'Deployment/rel-statsd-sepagent-injector',
      ]);
      expect(names).to.not.include.members(['ConfigMap/rel-statsd-sepagent-config', 'Role/rel-statsd-sepagent']);
    }
  });

  it('sidecar.mode: auto is native from 1.29; native below 1.29 fails the render saying why and what to set', () => {
    expect(sidecarOf(render('1.28.0')).native).to.equal(false);
    expect(sidecarOf(render('1.29.0')).native).to.equal(true);
    const r = helm(['template', 'rel', CHART, '--kube-version', '1.28.0', '--set', 'sidecar.mode=native']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('sidecar.mode=native needs Kubernetes 1.29 or later');
    expect(r.stderr).to.contain('set sidecar.mode=auto or classic');
  });

  it('the webhook is called only for labelled pods, never in kube-system or its own namespace', () => {
    const objs = render('1.31.0', [], ['injector.enabled=true', 'workload.enabled=false']);
    const webhook = objs.find((o) => o.kind === 'MutatingWebhookConfiguration') as K8sObject & {
      webhooks: Array<{
        name: string;
        objectSelector: { matchExpressions: unknown[] };
        namespaceSelector: { matchExpressions: unknown[] };
      }>;
    };
    const byName = Object.fromEntries(webhook.webhooks.map((w) => [w.name, w]));
    expect(byName['pod.inject.statsd-sepagent.io']!.objectSelector.matchExpressions).to.deep.equal([
      { key: 'statsd-sepagent.io/inject', operator: 'In', values: ['true'] },
    ]);
    expect(byName['namespace.inject.statsd-sepagent.io']!.objectSelector.matchExpressions).to.deep.equal([
      { key: 'statsd-sepagent.io/inject', operator: 'NotIn', values: ['false'] },
    ]);
    for (const w of webhook.webhooks)
      expect(w.namespaceSelector.matchExpressions).to.deep.include({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', NS],
      });
  });

  it('every backend is configurable from values, checked by a schema generated from the daemon (fresh)', () => {
    const fresh = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/chart-schema.ts', '--check'], {
      encoding: 'utf8',
    });
    expect(fresh.status, `values.schema.json is stale: ${fresh.stderr}`).to.equal(0);
    const dir = mkdtempSync(join(tmpdir(), 'chart-backends-'));
    const values = join(dir, 'values.yaml');
    writeFileSync(
      values,
      [
        'config:',
        `  backends: ${JSON.stringify([...COMPONENTS.backends.keys()].filter((b) => b !== 'forwarder'))}`,
        '  settings: {max-series: 50000, expiry-interval: 10m, namespace: edge}',
        '  backendSections:',
        '    graphite: {address: "carbon.monitoring:2003"}',
        '    statsdaemon: {address: "statsd.monitoring:8125"}',
        '    prometheus-remote-write: {url: "http://mimir.monitoring:8080/api/v1/push", headers: {X-Scope-OrgID: team-a}}',
        '    datadog: {api_key_file: /var/run/secrets/statsd-sepagent/datadog/api-key}',
        '    newrelic: {address: "http://newrelic-infra.monitoring:8001/v1/data"}',
        '    cloudwatch: {namespace: Edge, region: eu-west-1}',
        '    otlp: {endpoint: "http://otel-collector.monitoring:4318", resource_keys: [service.name]}',
        'secrets:',
        '  files: [{name: datadog, secretName: datadog-api-key}]',
      ].join('\n'),
    );
    for (const kube of KUBE_VERSIONS) {
      const cm = render(kube, [values]).find((o) => o.kind === 'ConfigMap') as K8sObject & {
        data: Record<string, string>;
      };
      const { issues } = configFromDocument(cm.data['config.toml']!, 'toml', {}, COMPONENTS);
      // The key file exists only in the pod (a mounted Secret).
      expect(
        issues.filter((i) => i.severity === 'error' && !i.message.includes('cannot read')),
        cm.data['config.toml'],
      ).to.deep.equal([]);
      expect(cm.data['config.toml']).to.match(/^max-series = 50000/m);
      expect(cm.data['config.toml']).to.contain('[prometheus-remote-write.headers]');
    }
  });

  it('the aggregation tier: its own labels on every object, a PodDisruptionBudget, spread over nodes; no loopback SepAgent', async () => {
    const objs = render('1.31.0', [`${CHART}/ci/two-tier-values.yaml`]);
    for (const o of objs) if (o.apiVersion !== 'monitoring.coreos.com/v1') await validate(o);
    const tier = objs.filter((o) => o.metadata.name.startsWith('rel-statsd-sepagent-aggregator'));
    expect(tier.map((o) => o.kind).sort()).to.deep.equal([
      'ConfigMap',
      'PodDisruptionBudget',
      'Service',
      'StatefulSet',
    ]);
    for (const o of tier) {
      expect(o.metadata.labels!['app.kubernetes.io/name'], o.kind).to.equal('statsd-sepagent-aggregator');
      expect(o.metadata.labels!['app.kubernetes.io/component'], o.kind).to.equal('aggregator');
    }
    const sts = tier.find((o) => o.kind === 'StatefulSet') as unknown as {
      spec: {
        template: { metadata: { labels: Record<string, string> }; spec: { topologySpreadConstraints: unknown[] } };
      };
    };
    expect(sts.spec.template.metadata.labels['app.kubernetes.io/name']).to.equal('statsd-sepagent-aggregator');
    expect(sts.spec.template.spec.topologySpreadConstraints).to.deep.equal([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'statsd-sepagent-aggregator',
            'app.kubernetes.io/instance': 'rel',
            'app.kubernetes.io/component': 'aggregator',
          },
        },
      },
    ]);
    const pdb = tier.find((o) => o.kind === 'PodDisruptionBudget') as unknown as { spec: Record<string, unknown> };
    expect(pdb.spec['maxUnavailable']).to.equal(1);
    const cm = tier.find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
    expect(cm.data['config.toml']).to.contain('host = "sepagent.monitoring.svc"');
    const r = helm(['template', 'rel', CHART, '--set', 'aggregator.enabled=true']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('its sepagent backend would send to "127.0.0.1", the loopback of the tier');
  });

  it("names follow Helm's fullname convention without repeating the chart name", () => {
    const names = (release: string): string[] => {
      const r = helm(['template', release, CHART, '--kube-version', '1.31.0', '--set', 'injector.enabled=true']);
      expect(r.code, r.stderr).to.equal(0);
      return parseAllDocuments(r.stdout).map((d) => (d.toJS() as K8sObject).metadata.name);
    };
    expect(names('statsd')).to.include.members([
      'statsd-sepagent',
      'statsd-sepagent-injector',
      'statsd-sepagent-config',
    ]);
    expect(names('statsd').some((n) => n.includes('statsd-statsd'))).to.equal(false);
    expect(names('edge')).to.include.members(['edge-statsd-sepagent', 'edge-statsd-sepagent-injector']);
    expect(names('statsd-sepagent')).to.include('statsd-sepagent');
  });

  it('helm test runs a pod that checks the sidecar’s /readyz through its Service', async () => {
    const objs = render('1.31.0');
    const test = objs.find((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test') as
      (K8sObject & { spec: { containers: Container[] } }) | undefined;
    expect(test, 'a helm test pod').to.not.equal(undefined);
    await validate(test!);
    expect(test!.spec.containers[0]!['command']).to.satisfy((c: string[]) => c.join(' ').includes('/readyz'));
    expect(objs.some((o) => o.kind === 'Service' && o.metadata.name === 'rel-statsd-sepagent')).to.equal(true);
  });
});

/** A `helm install|template|upgrade` command written in a doc, as `helm template` arguments. */
interface DocumentedCommand {
  file: string;
  text: string;
  args: string[];
}

/**
 * The helm commands of README.md, docs/*.md and the chart's README, in fenced shell blocks,
 * with their continuation lines joined. Each runs as `helm template` with its own flags
 * (an upgrade with `--reuse-values` takes the earlier install's of the same release).
 */
function documentedHelmCommands(): DocumentedCommand[] {
  const files = [
    'README.md',
    ...readdirSync('docs')
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    `${CHART}/README.md`,
  ];
  const out: DocumentedCommand[] = [];
  for (const file of files) {
    const installs = new Map<string, string[]>();
    for (const block of readFileSync(file, 'utf8').matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) {
      const lines = block[1]!.replace(/\\\n\s*/g, ' ').split('\n');
      for (const line of lines) {
        const m = /^helm (install|upgrade|template) (\S+) (\S+)(.*)$/.exec(line.replace(/\s+#.*$/, '').trim());
        if (m === null) continue;
        const [, verb, release, , rest] = m as unknown as [string, string, string, string, string];
        const flags = shellWords(rest).filter((w) => !['--create-namespace', '--reuse-values', '--wait'].includes(w));
        const all =
          verb === 'upgrade' && rest.includes('--reuse-values') ? [...(installs.get(release) ?? []), ...flags] : flags;
        if (verb !== 'upgrade') installs.set(release, flags);
        out.push({ file, text: line.trim(), args: ['template', release, CHART, ...all] });
      }
    }
  }
  return out;
}

/** Splits a command line into words, honouring single and double quotes. */
function shellWords(s: string): string[] {
  return [...s.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}
