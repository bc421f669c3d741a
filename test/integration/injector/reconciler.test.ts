import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injector } from '../../../src/injector/injector.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { certificates } from '../../support/certs.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';
import { waitFor } from '../../support/wait-for.js';

const NS = 'statsd-system';
const CLASS_LABEL = 'statsd-sepagent.io/class';
const GOOD = 'backends = "stdout"\nflush-interval = "10s"\n';
const BETTER = 'backends = "stdout"\nflush-interval = "5s"\n';
const INVALID = 'backends = "stdout"\nflush-interval = "soon"\n';

describe('injector: class reconciler against the fake API server', function () {
  this.timeout(20_000);
  const dir = mkdtempSync(join(tmpdir(), 'injector-'));
  const tls = certificates(dir);
  const settingsPath = join(dir, 'settings.yaml');
  writeFileSync(settingsPath, 'image: ghcr.io/statsd-sepagent/statsd-sepagent:0.1.0\n');
  let api: FakeKubeApi;
  let injector: Injector | undefined;

  async function startInjector(): Promise<Injector> {
    const i = new Injector({
      settingsPath,
      listen: '127.0.0.1:0',
      webAddr: '127.0.0.1:0',
      certFile: tls.cert,
      keyFile: tls.key,
      namespace: NS,
      kubeconfig: api.writeKubeconfig(),
      env: {},
      logger: silentLogger,
      retryMs: 100,
    });
    await i.start();
    await waitFor(() => i.reconciler.synced, 5000, 'informers listed');
    await i.reconciler.idle();
    return i;
  }

  /** Waits until the store holds exactly these copies (`ns/name` → config text). */
  async function copiesAre(expected: Record<string, string>): Promise<void> {
    const current = (): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const [ref, cm] of api.configMaps())
        if (cm.metadata.labels?.['app.kubernetes.io/managed-by'] === 'statsd-sepagent-injector')
          out[ref] = cm.data['config.toml'] ?? '';
      return out;
    };
    await waitFor(
      async () => {
        await injector?.reconciler.idle();
        return JSON.stringify(current()) === JSON.stringify(expected);
      },
      5000,
      `copies ${JSON.stringify(expected)} (now ${JSON.stringify(current())})`,
    );
  }

  beforeEach(async () => {
    api = await FakeKubeApi.start();
    api.upsert(NS, 'class-default', { 'config.toml': GOOD }, { [CLASS_LABEL]: 'default' });
    api.upsert(NS, 'class-batch', { 'config.toml': GOOD }, { [CLASS_LABEL]: 'batch' });
  });

  afterEach(async () => {
    await injector?.shutdown();
    injector = undefined;
    await api.stop();
  });

  it('copies each class into the namespaces of its injected pods, and follows class edits', async () => {
    api.upsertPod('shop', 'checkout-1', { [CLASS_LABEL]: 'default' });
    api.upsertPod('shop', 'checkout-2', { [CLASS_LABEL]: 'default' });
    api.upsertPod('jobs', 'etl-1', { [CLASS_LABEL]: 'batch' });
    api.upsertPod('plain', 'web-1', { app: 'web' }); // not injected
    injector = await startInjector();
    await copiesAre({ 'shop/statsd-sepagent-default': GOOD, 'jobs/statsd-sepagent-batch': GOOD });
    const copy = api.configMap('shop', 'statsd-sepagent-default')!;
    expect(copy.metadata.labels).to.deep.equal({
      'app.kubernetes.io/managed-by': 'statsd-sepagent-injector',
      'statsd-sepagent.io/class-copy': 'default',
    });
    expect(copy.metadata.annotations!['statsd-sepagent.io/source']).to.match(/^statsd-system\/class-default@\d+$/);

    // A new namespace gets its copy once its first injected pod appears.
    api.upsertPod('billing', 'invoice-1', { [CLASS_LABEL]: 'default' });
    await copiesAre({
      'shop/statsd-sepagent-default': GOOD,
      'jobs/statsd-sepagent-batch': GOOD,
      'billing/statsd-sepagent-default': GOOD,
    });
    // One edit of the class reaches every copy.
    api.upsert(NS, 'class-default', { 'config.toml': BETTER });
    await copiesAre({
      'shop/statsd-sepagent-default': BETTER,
      'jobs/statsd-sepagent-batch': GOOD,
      'billing/statsd-sepagent-default': BETTER,
    });
    const writes = api.writes.filter((w) => w.startsWith('PUT'));
    expect(writes.sort()).to.deep.equal(['PUT billing/statsd-sepagent-default', 'PUT shop/statsd-sepagent-default']);
    // The class goes: so do its copies.
    api.remove(NS, 'class-batch');
    await copiesAre({ 'shop/statsd-sepagent-default': BETTER, 'billing/statsd-sepagent-default': BETTER });
  });

  it('an invalid class is not propagated: Event on the class, metric, copies keep the last valid version', async () => {
    api.upsertPod('shop', 'checkout-1', { [CLASS_LABEL]: 'default' });
    injector = await startInjector();
    await copiesAre({ 'shop/statsd-sepagent-default': GOOD });
    const before = api.writes.length;
    api.upsert(NS, 'class-default', { 'config.toml': INVALID });
    const event = await waitFor(() => api.eventsWithReason('ClassRejected')[0], 5000, 'ClassRejected event');
    expect(event['type']).to.equal('Warning');
    expect(event['involvedObject']).to.deep.include({ kind: 'ConfigMap', name: 'class-default', namespace: NS });
    expect(event['message']).to.match(
      /class "default" rejected \(copies keep statsd-system\/class-default@\d+\): flush-interval: must be a duration/,
    );
    await injector.reconciler.idle();
    // A new namespace still gets the last valid version.
    api.upsertPod('billing', 'invoice-1', { [CLASS_LABEL]: 'default' });
    await copiesAre({ 'shop/statsd-sepagent-default': GOOD, 'billing/statsd-sepagent-default': GOOD });
    expect(api.writes.slice(before)).to.deep.equal(['POST billing/statsd-sepagent-default']);
    const metrics = await injector.metrics.registry.metrics();
    expect(metrics).to.contain('statsd_sepagent_injector_class_valid{class="default"} 0');
    expect(metrics).to.contain('statsd_sepagent_injector_class_rejections_total{class="default"} 1');
    expect(metrics).to.contain('statsd_sepagent_injector_class_copies{class="default"} 2');
    // Fixed: propagated again.
    api.upsert(NS, 'class-default', { 'config.toml': BETTER });
    await copiesAre({ 'shop/statsd-sepagent-default': BETTER, 'billing/statsd-sepagent-default': BETTER });
    expect(await injector.metrics.registry.metrics()).to.contain(
      'statsd_sepagent_injector_class_valid{class="default"} 1',
    );
  });

  it('gauge-deltas per class: "apply" is copied to the class’s namespaces, an unknown rule is rejected naming the key', async () => {
    const APPLY = 'backends = "stdout"\ngauge-deltas = "apply"\n';
    api.upsertPod('shop', 'checkout-1', { [CLASS_LABEL]: 'default' });
    api.upsertPod('jobs', 'etl-1', { [CLASS_LABEL]: 'batch' });
    api.upsert(NS, 'class-batch', { 'config.toml': APPLY });
    injector = await startInjector();
    await copiesAre({ 'shop/statsd-sepagent-default': GOOD, 'jobs/statsd-sepagent-batch': APPLY });
    api.upsert(NS, 'class-batch', { 'config.toml': 'backends = "stdout"\ngauge-deltas = "sum"\n' });
    const event = await waitFor(() => api.eventsWithReason('ClassRejected')[0], 5000, 'ClassRejected event');
    expect(event['message']).to.match(/gauge-deltas: .*ignore.*apply/);
    await injector.reconciler.idle();
    await copiesAre({ 'shop/statsd-sepagent-default': GOOD, 'jobs/statsd-sepagent-batch': APPLY });
  });

  it('a hostile class (JSON nested 100,000 deep) is rejected on its own: Event on it, the other class still copied', async () => {
    api.upsertPod('shop', 'checkout-1', { [CLASS_LABEL]: 'default' });
    api.upsertPod('jobs', 'etl-1', { [CLASS_LABEL]: 'batch' });
    api.upsert(NS, 'class-default', { 'config.json': `${'['.repeat(100_000)}${']'.repeat(100_000)}` });
    injector = await startInjector();
    await copiesAre({ 'jobs/statsd-sepagent-batch': GOOD });
    const event = await waitFor(() => api.eventsWithReason('ClassRejected')[0], 5000, 'ClassRejected event');
    expect(event['involvedObject']).to.deep.include({ name: 'class-default', namespace: NS });
    expect(event['message']).to.match(/nested deeper than the limit of 32 levels/);
    // The other class still follows its edits.
    api.upsert(NS, 'class-batch', { 'config.toml': BETTER });
    await copiesAre({ 'jobs/statsd-sepagent-batch': BETTER });
  });

  it('a restarted injector makes no duplicates and no needless writes; an invalid class at start keeps the copies', async () => {
    api.upsertPod('shop', 'checkout-1', { [CLASS_LABEL]: 'default' });
    injector = await startInjector();
    await copiesAre({ 'shop/statsd-sepagent-default': GOOD });
    await injector.shutdown();
    injector = undefined;
    const before = api.writes.length;
    api.upsert(NS, 'class-default', { 'config.toml': INVALID });
    api.upsertPod('billing', 'invoice-1', { [CLASS_LABEL]: 'default' });
    injector = await startInjector();
    // The only valid version it knows is what the copies hold: the new namespace gets that.
    await copiesAre({ 'shop/statsd-sepagent-default': GOOD, 'billing/statsd-sepagent-default': GOOD });
    expect(api.writes.slice(before)).to.deep.equal(['POST billing/statsd-sepagent-default']);
    expect(api.eventsWithReason('ClassRejected')).to.have.length(1);
  });

  it("leaves others' objects alone and reports them", async () => {
    api.upsert('shop', 'statsd-sepagent-default', { 'config.toml': 'theirs' }); // no owner labels
    api.upsertPod('shop', 'checkout-1', { [CLASS_LABEL]: 'default' });
    api.upsertPod('jobs', 'etl-1', { [CLASS_LABEL]: 'default' });
    injector = await startInjector();
    const conflict = await waitFor(() => api.eventsWithReason('ClassCopyConflict')[0], 5000, 'conflict event');
    expect(conflict['involvedObject']).to.deep.include({ namespace: 'shop', name: 'statsd-sepagent-default' });
    await copiesAre({ 'jobs/statsd-sepagent-default': GOOD });
    expect(api.configMap('shop', 'statsd-sepagent-default')!.data).to.deep.equal({ 'config.toml': 'theirs' });
    expect(await injector.metrics.registry.metrics()).to.contain('statsd_sepagent_injector_copy_conflicts_total 1');
  });

  it('retries a failed write with nothing else changing', async () => {
    api.upsertPod('jobs', 'etl-1', { [CLASS_LABEL]: 'default' });
    api.failNext('write', 500, 2);
    injector = await startInjector();
    await copiesAre({ 'jobs/statsd-sepagent-default': GOOD });
    expect(
      api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/configmaps')).map((r) => r.status),
    ).to.deep.equal([500, 500, 201]);
    expect(await injector.metrics.registry.metrics()).to.contain(
      'statsd_sepagent_injector_api_errors_total{operation="create"} 2',
    );
  });
});
