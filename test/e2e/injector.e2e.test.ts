import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { sendUdp } from '../support/daemon-harness.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { certificates } from '../support/certs.js';
import { CliProcess } from '../support/cli-process.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { patchedPod, referenceReview, sidecarOf, validatePod } from '../support/admission.js';
import { waitFor } from '../support/wait-for.js';

const NS = 'statsd-system';

describe('e2e: statsd-sepagent injector (the CLI, real HTTPS, fake API server)', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'injector-e2e-'));
  const certsIn = (sub: string): ReturnType<typeof certificates> => {
    mkdirSync(join(dir, sub));
    return certificates(join(dir, sub));
  };
  const first = certsIn('a');
  const second = certsIn('b');
  // The files the injector serves from, as a mounted Secret would hold them.
  const served = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  const settings = join(dir, 'settings.yaml');
  let api: FakeKubeApi;
  let cli: CliProcess;
  let webhookPort: number;
  let metricsPort: number;

  const agentFor = (caFile: string): Agent => new Agent({ connect: { ca: readFileSync(caFile), servername: '' } });
  let trusted: Agent;

  async function post(path: string, body: string | Buffer, agent = trusted): Promise<{ status: number; text: string }> {
    const r = await request(`https://127.0.0.1:${webhookPort}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      dispatcher: agent,
    });
    return { status: r.statusCode, text: await r.body.text() };
  }

  async function metrics(): Promise<string> {
    const r = await request(`http://127.0.0.1:${metricsPort}/metrics`);
    return r.body.text();
  }

  before(async () => {
    copyFileSync(first.cert, served.cert);
    copyFileSync(first.key, served.key);
    writeFileSync(settings, 'image: ghcr.io/statsd-sepagent/statsd-sepagent:0.1.0\nnativeSidecar: false\n');
    api = await FakeKubeApi.start();
    api.upsert(
      NS,
      'class-default',
      { 'config.toml': 'backends = "stdout"\n' },
      { 'statsd-sepagent.io/class': 'default' },
    );
    cli = new CliProcess([
      'injector',
      `--settings=${settings}`,
      '--listen=127.0.0.1:0',
      '--web-addr=127.0.0.1:0',
      `--tls-cert-file=${served.cert}`,
      `--tls-key-file=${served.key}`,
      `--namespace=${NS}`,
      `--kubeconfig=${api.writeKubeconfig()}`,
    ]);
    await cli.waitForLog('statsd-sepagent injector running');
    const port = (msg: string): number =>
      Number(
        String(cli.logs().find((l) => l['msg'] === msg)!['address'])
          .split(':')
          .pop(),
      );
    webhookPort = port('injector webhook (https) listening');
    metricsPort = port('injector metrics server listening');
    trusted = agentFor(first.ca);
    await waitFor(
      async () => (await request(`http://127.0.0.1:${metricsPort}/readyz`)).statusCode === 200,
      5000,
      'ready',
    );
  });

  after(async () => {
    const code = await cli.stop();
    await api.stop();
    expect(code).to.equal(0);
  });

  it('answers a pod creation with a JSON Patch that gives a valid pod its sidecar; the patched pod is left alone', async () => {
    const review = referenceReview();
    const r = await post('/mutate', JSON.stringify(review));
    expect(r.status).to.equal(200);
    const answer = JSON.parse(r.text) as { apiVersion: string; kind: string; response: Record<string, unknown> };
    expect(answer.apiVersion).to.equal('admission.k8s.io/v1');
    expect(answer.kind).to.equal('AdmissionReview');
    expect(answer.response['allowed']).to.equal(true);
    const pod = patchedPod(review, answer.response);
    validatePod(pod);
    expect(sidecarOf(pod)!['args']).to.include('--config-path=/etc/statsd-sepagent/config.toml');

    const again = structuredClone(review);
    (again['request'] as Record<string, unknown>)['object'] = pod;
    const second = JSON.parse((await post('/mutate', JSON.stringify(again))).text) as {
      response: Record<string, unknown>;
    };
    expect(second.response['allowed']).to.equal(true);
    expect(second.response['patch']).to.equal(undefined);
    expect(await metrics()).to.contain('statsd_sepagent_injector_admissions_total{result="already-injected"} 1');
  });

  it('an injected sidecar runs with exactly the args and env it was given, and a class edit reaches it live', async () => {
    // The pod is admitted, then "created": the reconciler copies its class to the namespace.
    const review = referenceReview();
    const r = JSON.parse((await post('/mutate', JSON.stringify(review))).text) as { response: Record<string, unknown> };
    const pod = patchedPod(review, r.response);
    const labels = (pod['metadata'] as { labels: Record<string, string> }).labels;
    api.upsertPod('shop', 'checkout-7d9f5c6b8-x2k4p', labels);
    const copy = await waitFor(() => api.configMap('shop', 'statsd-sepagent-default'), 5000, 'the class copy');

    // A kubelet stand-in: the copy mounted as a ConfigMap volume (..data swaps), the
    // Downward API variables resolved.
    const volume = mkdtempSync(join(tmpdir(), 'class-volume-'));
    let version = 0;
    const mount = (data: Record<string, string>): void => {
      const d = `..v${++version}`;
      mkdirSync(join(volume, d));
      for (const [k, v] of Object.entries(data)) writeFileSync(join(volume, d, k), v);
      symlinkSync(d, join(volume, '..data_tmp'));
      renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
      if (version === 1) for (const k of Object.keys(data)) symlinkSync(`..data/${k}`, join(volume, k));
    };
    mount(copy.data);
    const c = sidecarOf(pod)!;
    const args = (c['args'] as string[]).map((a) =>
      a
        .replace('/etc/statsd-sepagent/', `${volume}/`)
        .replace(/^--metrics-addr=.*/, '--metrics-addr=127.0.0.1:0')
        .replace(/^--web-addr=.*/, '--web-addr=127.0.0.1:0'),
    );
    const fields: Record<string, string> = {
      'metadata.namespace': 'shop',
      'metadata.name': 'checkout-7d9f5c6b8-x2k4p',
      'spec.nodeName': 'node-1',
    };
    const env: Record<string, string> = {};
    for (const e of c['env'] as Array<{
      name: string;
      value?: string;
      valueFrom?: { fieldRef: { fieldPath: string } };
    }>)
      env[e.name] = e.value ?? fields[e.valueFrom!.fieldRef.fieldPath]!;
    const sidecar = new CliProcess(args, env);
    try {
      const { udp } = await sidecar.ready();
      await sendUdp(udp, ['requests:1|c']);
      await waitFor(() => sidecar.stdout.includes('stats.counter.requests.s.127.0.0.1.count 1'), 5000, 'v1 output');

      // One edit of the class: the copy follows, the kubelet swaps the file, the sidecar reloads.
      api.upsert(NS, 'class-default', { 'config.toml': 'backends = "stdout"\ndefault-tags = "class:v2"\n' });
      const updated = await waitFor(
        () => {
          const cm = api.configMap('shop', 'statsd-sepagent-default')!;
          return cm.metadata.resourceVersion !== copy.metadata.resourceVersion && cm;
        },
        5000,
        'the copy updated',
      );
      mount(updated.data);
      await sidecar.waitForLog('configuration reloaded');
      await sendUdp(udp, ['requests:1|c']);
      await waitFor(
        () => sidecar.stdout.includes('stats.counter.requests.class.v2.s.127.0.0.1.count 1'),
        5000,
        'v2 output',
      );
    } finally {
      expect(await sidecar.stop()).to.equal(0);
    }
  });

  it('a malformed or oversized review gets a clear 400, and the injector keeps serving', async () => {
    const bad = await post('/mutate', '{"kind": "AdmissionRev');
    expect(bad.status).to.equal(400);
    expect(bad.text).to.match(/^the body is not JSON: /);
    const wrong = await post('/mutate', JSON.stringify({ kind: 'Pod' }));
    expect(wrong.status).to.equal(400);
    expect(wrong.text).to.contain('expected kind AdmissionReview');
    const huge = await post('/mutate', Buffer.alloc(5 * 1024 * 1024, 0x20)).catch((err: unknown) => ({
      status: 0,
      text: String(err),
    }));
    expect(huge.status).to.equal(400);
    expect(huge.text).to.contain('the review is over 4194304 bytes');
    expect((await post('/mutate', JSON.stringify(referenceReview()))).status).to.equal(200);
    expect(await metrics()).to.contain('statsd_sepagent_injector_admissions_total{result="bad-request"} 3');
  });

  it('serves a rotated certificate without a restart', async () => {
    copyFileSync(second.key, served.key);
    copyFileSync(second.cert, served.cert);
    const rotated = agentFor(second.ca);
    await waitFor(
      async () =>
        (await post('/mutate', JSON.stringify(referenceReview()), rotated).catch(() => ({ status: 0 }))).status === 200,
      15_000,
      'the new certificate served',
    );
    expect(await metrics()).to.contain('statsd_sepagent_injector_certificate_loads_total{result="ok"}');
    await rotated.close();
  });
});
