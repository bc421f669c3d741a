import { expect } from 'chai';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { sendUdp } from '../support/daemon-harness.js';
import { waitFor } from '../support/wait-for.js';

/**
 * A Downward API volume as the kubelet writes it: the files live in a timestamped
 * directory, `..data` points at it, and each file is a link through `..data`; an update
 * writes a new directory and renames a new `..data` link over the old one.
 */
function downwardApiVolume(dir: string, labels: string, version: number): void {
  const data = `..2026_12_05_0${version}`;
  mkdirSync(join(dir, data));
  writeFileSync(join(dir, data, 'labels'), labels);
  writeFileSync(join(dir, data, 'annotations'), 'team="payments"\n');
  if (version === 1) {
    symlinkSync(data, join(dir, '..data'));
    symlinkSync('..data/labels', join(dir, 'labels'));
    symlinkSync('..data/annotations', join(dir, 'annotations'));
  } else {
    symlinkSync(data, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  }
}

describe('e2e: pod tags from the Downward API', function () {
  this.timeout(30_000);
  let cli: CliProcess | undefined;

  afterEach(async () => {
    await cli?.stop();
    cli = undefined;
  });

  it('tags every metric with pod fields, labels and annotations, and follows a label change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podinfo-'));
    downwardApiVolume(dir, 'app="checkout"\nversion="1"\npod-template-hash="7d9f"\n', 1);
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      [
        'backends = "stdout"',
        'flush-interval = "100ms"',
        '[pod-tags]',
        'fields = ["namespace", "pod", "node=k8s_node"]',
        'labels = ["app", "version"]',
        'annotations = ["team"]',
        `labels-file = "${join(dir, 'labels')}"`,
        `annotations-file = "${join(dir, 'annotations')}"`,
        '',
      ].join('\n'),
    );
    cli = new CliProcess(
      ['--config-path', config, '--metrics-addr', '127.0.0.1:0', '--web-addr', '127.0.0.1:0', '--max-workers', '1'],
      { POD_NAMESPACE: 'shop', POD_NAME: 'checkout-7d9f-abc', NODE_NAME: 'node-3' },
    );
    const { udp } = await cli.ready();
    // The stdout backend writes tags sorted, as `.key.value` name parts.
    const tagged = (version: string): string =>
      `stats.counter.hits.app.checkout.k8s_node.node-3.namespace.shop.pod.checkout-7d9f-abc.team.payments.version.${version}.`;
    await sendUdp(udp, ['hits:1|c']);
    await waitFor(() => cli!.stdout.includes(tagged('1')), 5000, `"${tagged('1')}" on stdout`);

    // Someone edits the pod's labels: the kubelet rewrites the file.
    downwardApiVolume(dir, 'app="checkout"\nversion="2"\npod-template-hash="7d9f"\n', 2);
    await cli.waitForLog('a file the configuration refers to changed; reloading');
    await cli.waitForLog('configuration reloaded');
    await sendUdp(udp, ['hits:1|c']);
    await waitFor(() => cli!.stdout.includes(tagged('2')), 5000, `"${tagged('2')}" on stdout`);
    expect(cli.logs().find((l) => l['msg'] === 'configuration reloaded')!['changed']).to.deep.equal(['pod-tags']);
  });
});
