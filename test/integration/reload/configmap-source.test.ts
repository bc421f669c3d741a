import { RELOAD_OPTIONS } from '../../../src/daemon/components.js';
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigMapSource, type ConfigMapDocument } from '../../../src/reload/configmap-source.js';
import { planReload } from '../../../src/config/reload-plan.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { certificates } from '../../support/certs.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';
import { testConfig } from '../../support/daemon-harness.js';
import { waitFor } from '../../support/wait-for.js';

const NS = 'team-a';
const NAME = 'statsd-config';

function doc(port: number): string {
  return `backends = "sepagent"\n[sepagent]\nport = ${port}\n`;
}

/** Records what a started source reports. */
class Recorder {
  readonly documents: ConfigMapDocument[] = [];
  readonly unusable: string[] = [];
  deleted = 0;
  watchErrors = 0;
  readonly handlers = {
    logger: silentLogger,
    onWatchError: () => this.watchErrors++,
    onDocument: (d: ConfigMapDocument) => this.documents.push(d),
    onUnusable: (_cm: unknown, problem: string) => this.unusable.push(problem),
    onDeleted: () => this.deleted++,
  };
  last(): string | undefined {
    return this.documents[this.documents.length - 1]?.text;
  }
}

describe('ConfigMapSource against the fake API server (real HTTP: list, watch, Events)', function () {
  this.timeout(20_000);
  let api: FakeKubeApi;
  let source: ConfigMapSource | undefined;

  beforeEach(async () => {
    api = await FakeKubeApi.start({ namespaces: [NS] });
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await api.stop();
  });

  async function newSource(opts: { token?: string; namespace?: string; key?: string } = {}): Promise<ConfigMapSource> {
    source = await ConfigMapSource.open({
      name: NAME,
      namespace: opts.namespace ?? NS,
      ...(opts.key !== undefined ? { key: opts.key } : {}),
      kubeconfigPath: api.writeKubeconfig(opts.token !== undefined ? { token: opts.token } : {}),
      env: {},
      backoff: { initialMs: 50, maxMs: 200 },
    });
    return source;
  }

  it('fetches the document once, and watches only its ConfigMap (field selector on list and watch)', async () => {
    api.upsert(NS, NAME, { 'config.toml': doc(1111) });
    api.upsert(NS, 'other', { 'config.toml': doc(9) });
    const s = await newSource();
    const first = await s.fetch();
    expect(first).to.include({ text: doc(1111), format: 'toml', source: 'configmap' });
    const rec = new Recorder();
    s.watch(rec.handlers);
    await waitFor(() => rec.documents.length === 1 && api.watchCount === 1);
    api.upsert(NS, 'other', { 'config.toml': doc(10) });
    api.upsert(NS, NAME, { 'config.toml': doc(2222) });
    await waitFor(() => rec.last() === doc(2222));
    expect(rec.documents.map((d) => d.text)).to.deep.equal([doc(1111), doc(2222)]);
    const configmapRequests = api.requests.filter((r) => r.path.endsWith('/configmaps'));
    expect(configmapRequests.length).to.be.greaterThanOrEqual(3);
    // A watch asks the server to end it within 5 minutes (a silent dead connection is noticed).
    const watches = configmapRequests.filter((r) => r.query.get('watch') === 'true');
    expect(watches.map((r) => r.query.get('timeoutSeconds'))).to.include('300');
    for (const r of configmapRequests) expect(r.query.get('fieldSelector')).to.equal(`metadata.name=${NAME}`);
    expect(configmapRequests.some((r) => r.query.get('watch') === 'true')).to.equal(true);
  });

  it('picks config.toml, config.yaml or config.json, or --configmap-key, and reports a ConfigMap without one', async () => {
    api.upsert(NS, NAME, { 'config.yaml': 'backends: "null"\n' });
    expect(await (await newSource()).fetch()).to.include({ format: 'yaml' });
    await source!.stop();
    api.upsert(NS, NAME, { 'custom.json': '{"backends":"null"}' });
    expect(await (await newSource({ key: 'custom.json' })).fetch()).to.include({ format: 'json' });
    await source!.stop();
    const s = await newSource();
    expect(await s.fetch()).to.equal(
      `ConfigMap ${NS}/${NAME} has no key config.toml, config.yaml, config.json (keys present: custom.json)`,
    );
    const rec = new Recorder();
    s.watch(rec.handlers);
    await waitFor(() => rec.unusable.length === 1);
    await waitFor(() => api.eventsWithReason('ConfigRejected').length === 1);
    expect(String(api.events[0]!['message'])).to.contain('has no key config.toml');
  });

  it('resumes after the server ends the watch, relists after an in-stream 410 and after an HTTP 410', async () => {
    api.upsert(NS, NAME, { 'config.toml': doc(1) });
    const s = await newSource();
    const rec = new Recorder();
    s.watch(rec.handlers);
    await waitFor(() => rec.documents.length === 1 && api.watchCount === 1);
    const lists = (): number =>
      api.requests.filter((r) => r.path.endsWith('/configmaps') && r.query.get('watch') === null).length;
    expect(lists()).to.equal(1);

    // A server-side timeout: the client resumes from its resourceVersion without a relist.
    api.closeWatches();
    api.upsert(NS, NAME, { 'config.toml': doc(2) });
    await waitFor(() => rec.last() === doc(2));
    expect(lists()).to.equal(1);

    // In-stream ERROR 410: the client relists.
    await waitFor(() => api.watchCount === 1);
    api.expireWatches();
    await waitFor(() => lists() === 2 && api.watchCount === 1);
    api.upsert(NS, NAME, { 'config.toml': doc(3) });
    await waitFor(() => rec.last() === doc(3));

    // HTTP 410 on the watch GET (the resourceVersion was compacted away): the client relists.
    await waitFor(() => api.watchCount === 1);
    api.failNext('watch', 410);
    api.closeWatches();
    await waitFor(() => lists() === 3 && api.watchCount === 1);
    expect(api.requests.some((r) => r.status === 410)).to.equal(true);
    api.upsert(NS, NAME, { 'config.toml': doc(4) });
    await waitFor(() => rec.last() === doc(4));
    expect(rec.documents.map((d) => d.text)).to.deep.equal([doc(1), doc(2), doc(3), doc(4)]);
  });

  it('survives the API server going away and coming back, and errors (500), with backoff', async () => {
    api.upsert(NS, NAME, { 'config.toml': doc(1) });
    const s = await newSource();
    const rec = new Recorder();
    s.watch(rec.handlers);
    await waitFor(() => rec.documents.length === 1 && api.watchCount === 1);
    await api.stop();
    await waitFor(() => rec.watchErrors >= 2, 10_000, 'two failed reconnects');
    api.upsert(NS, NAME, { 'config.toml': doc(2) }); // edited while the watch is down
    api.failNext('list', 500);
    api.failNext('watch', 500);
    await api.start();
    await waitFor(() => rec.last() === doc(2), 10_000);
    api.upsert(NS, NAME, { 'config.toml': doc(3) });
    await waitFor(() => rec.last() === doc(3));
    expect(api.requests.some((r) => r.status === 500)).to.equal(true);
  });

  it('reports deletion, and picks the ConfigMap up again when it is re-created', async () => {
    api.upsert(NS, NAME, { 'config.toml': doc(1) });
    const s = await newSource();
    const rec = new Recorder();
    s.watch(rec.handlers);
    await waitFor(() => rec.documents.length === 1 && api.watchCount === 1);
    api.remove(NS, NAME);
    await waitFor(() => rec.deleted === 1);
    await waitFor(() => api.eventsWithReason('ConfigMapDeleted').length === 1);
    api.upsert(NS, NAME, { 'config.toml': doc(5) });
    await waitFor(() => rec.last() === doc(5));
  });

  it('stops cleanly: the watch connection closes and nothing is reported afterwards', async () => {
    api.upsert(NS, NAME, { 'config.toml': doc(1) });
    const s = await newSource();
    const rec = new Recorder();
    s.watch(rec.handlers);
    await waitFor(() => api.watchCount === 1);
    await s.stop();
    await waitFor(() => api.watchCount === 0);
    api.upsert(NS, NAME, { 'config.toml': doc(2) });
    // A source that still watches sees the edit; the stopped one does not.
    const other = await newSource();
    const seen = new Recorder();
    other.watch(seen.handlers);
    await waitFor(() => seen.last() === doc(2));
    await other.stop();
    expect(rec.documents.map((d) => d.text)).to.deep.equal([doc(1)]);
  });

  it('posts ConfigApplied and ConfigRejected Events on the ConfigMap, once per resourceVersion', async () => {
    const cm = api.upsert(NS, NAME, { 'config.toml': doc(1) });
    const s = await newSource();
    const d = (await s.fetch()) as ConfigMapDocument;
    const plan = planReload(testConfig({}), testConfig({ 'flush-interval': '5s' }), RELOAD_OPTIONS);
    s.report(d, { result: 'applied', hash: 'abc', plan });
    s.report(d, { result: 'applied', hash: 'abc', plan });
    s.report(d, {
      result: 'rejected',
      hash: 'def',
      issues: [
        { path: 'sepagent.port', severity: 'error', message: 'must be 1-65535' },
        { path: 'flush-interval', severity: 'error', message: 'not a duration' },
      ],
    });
    await waitFor(() => api.events.length === 2);
    const [applied, rejected] = api.events;
    expect(applied).to.deep.include({ reason: 'ConfigApplied', type: 'Normal' });
    expect(applied!['message']).to.equal('configuration abc applied (changed: flush-interval)');
    expect(rejected).to.deep.include({ reason: 'ConfigRejected', type: 'Warning' });
    expect(rejected!['message']).to.equal(
      'configuration rejected, previous one kept: sepagent.port: must be 1-65535; flush-interval: not a duration',
    );
    expect(rejected!['involvedObject']).to.deep.equal({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: NAME,
      namespace: NS,
      uid: cm.metadata.uid,
      resourceVersion: cm.metadata.resourceVersion,
    });
    expect(String((rejected!['metadata'] as Record<string, unknown>)['name'])).to.match(new RegExp(`^${NAME}\\.`));
  });

  it('is refused with a wrong token (401) or in a namespace it may not read (403)', async () => {
    api.upsert(NS, NAME, { 'config.toml': doc(1) });
    let err: unknown;
    try {
      await (await newSource({ token: 'wrong' })).fetch();
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/401|Unauthorized/);
    await source!.stop();
    err = undefined;
    try {
      await (await newSource({ namespace: 'kube-system' })).fetch();
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/403|forbidden/i);
    expect(api.requests.map((r) => r.status)).to.include.members([401, 403]);
  });

  it("reads a token file for each request, as the pod's rotating service-account token (no restart, no cached header)", async () => {
    api.upsert(NS, NAME, { 'config.toml': doc(7) });
    const dir = mkdtempSync(join(tmpdir(), 'token-file-'));
    try {
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, `${api.token}\n`);
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          '- name: fake',
          '  cluster:',
          `    server: ${api.url}`,
          '    insecure-skip-tls-verify: true',
          'users:',
          '- name: pod',
          '  user:',
          '    auth-provider:',
          '      name: tokenFile',
          '      config:',
          `        tokenFile: ${tokenFile}`,
          'contexts:',
          '- name: fake',
          '  context: { cluster: fake, user: pod }',
          'current-context: fake',
          '',
        ].join('\n'),
      );
      source = await ConfigMapSource.open({ name: NAME, namespace: NS, kubeconfigPath: kubeconfig, env: {} });
      expect(await source.fetch()).to.include({ text: doc(7) });
      writeFileSync(tokenFile, 'revoked\n');
      let err: unknown;
      await source.fetch().catch((e: unknown) => (err = e));
      expect(String(err)).to.match(/401/);
      writeFileSync(tokenFile, `${api.token}\n`);
      expect(await source.fetch()).to.include({ text: doc(7) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a kubeconfig that cannot be loaded, naming the problem', async () => {
    let err: unknown;
    await ConfigMapSource.open({ name: NAME, namespace: NS, kubeconfigPath: '/nonexistent/kubeconfig', env: {} }).catch(
      (e: unknown) => (err = e),
    );
    expect(String(err)).to.match(/cannot load the kubeconfig: .*\/nonexistent\/kubeconfig/);
  });

  it('resolves the kubeconfig again after a 401 (a credential that expired), and then succeeds', async () => {
    api.upsert(NS, NAME, { 'config.toml': doc(8) });
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      const write = (token: string): void =>
        writeFileSync(kubeconfig, readFileSync(api.writeKubeconfig({ token }), 'utf8'));
      write('expired');
      source = await ConfigMapSource.open({ name: NAME, namespace: NS, kubeconfigPath: kubeconfig, env: {} });
      write(api.token); // the credential is renewed where the kubeconfig points
      expect(await source.fetch()).to.include({ text: doc(8) });
      const statuses = api.requests.filter((r) => r.path.endsWith('/configmaps')).map((r) => r.status);
      expect(statuses).to.deep.equal([401, 200]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ConfigMapSource over HTTPS, as a cluster serves its API', function () {
  this.timeout(20_000);
  let dir: string;
  let api: FakeKubeApi | undefined;
  let source: ConfigMapSource | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kube-tls-'));
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists and watches with the kubeconfig's certificate authority, and refuses a server it did not sign", async () => {
    const certs = certificates(dir);
    api = await FakeKubeApi.start({ namespaces: [NS], tls: certs });
    expect(api.url).to.match(/^https:/);
    api.upsert(NS, NAME, { 'config.toml': doc(4443) });
    const open = (kubeconfigPath: string): Promise<ConfigMapSource> =>
      ConfigMapSource.open({
        name: NAME,
        namespace: NS,
        kubeconfigPath,
        env: {},
        backoff: { initialMs: 50, maxMs: 200 },
      });
    source = await open(api.writeKubeconfig());
    expect(await source.fetch()).to.include({ text: doc(4443) });
    const rec = new Recorder();
    source.watch(rec.handlers);
    await waitFor(() => api!.watchCount === 1);
    api.upsert(NS, NAME, { 'config.toml': doc(4444) });
    await waitFor(() => rec.last() === doc(4444));

    // The same server named with another CA (a certificate of its own, self-signed): TLS verification fails.
    const other = mkdtempSync(join(dir, 'other-'));
    const kubeconfig = join(other, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(api.writeKubeconfig(), 'utf8').replace(certs.ca, certificates(other).ca));
    const untrusted = await open(kubeconfig);
    let err: unknown;
    await untrusted.fetch().catch((e: unknown) => (err = e));
    await untrusted.stop();
    expect(String(err)).to.match(/certificate|self[- ]signed|issuer/i);
  });
});
