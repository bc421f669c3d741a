import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../../src/config/validate.js';
import { parseDownwardApiFile } from '../../../src/config/pod-tags.js';
import { COMPONENTS } from '../../../src/daemon/components.js';

describe('[pod-tags]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podinfo-'));
  const labels = join(dir, 'labels');
  const annotations = join(dir, 'annotations');
  // As the kubelet writes them: sorted keys, Go-quoted values.
  writeFileSync(labels, 'app="checkout"\napp.kubernetes.io/version="1.4.2"\npod-template-hash="7d9f"\n');
  writeFileSync(annotations, 'team="payments \\"core\\""\nnote="line\\nbreak \\u00e9\\x41"\n');
  const env = { POD_NAMESPACE: 'shop', POD_NAME: 'checkout-7d9f-abc', NODE_NAME: 'node-3' };

  it('parses Downward API files, Go escapes included, and reports bad lines', () => {
    const { values, bad } = parseDownwardApiFile(
      'a="x"\nb="q\\"uote\\\\ \\a\\v\\101 \\U0001F600"\nbroken line\nc=unquoted\n',
    );
    expect(Object.fromEntries(values)).to.deep.equal({ a: 'x', b: 'q"uote\\ \u0007\u000bA \u{1F600}' });
    expect(bad).to.deep.equal([3, 4]);
  });

  it('tags with pod fields, chosen labels and annotations, renamed with key=tag', () => {
    const v = validateConfig(
      {
        'pod-tags': {
          fields: ['namespace', 'pod', 'node=k8s_node'],
          labels: ['app', 'app.kubernetes.io/version=version', 'missing'],
          annotations: ['team', 'note'],
          'labels-file': labels,
          'annotations-file': annotations,
        },
      },
      COMPONENTS,
      env,
    );
    expect(v.issues).to.deep.equal([]);
    expect(v.config!.podTags).to.deep.equal({
      tags: [
        'namespace:shop',
        'pod:checkout-7d9f-abc',
        'k8s_node:node-3',
        'app:checkout',
        'version:1.4.2',
        'team:payments "core"',
        'note:line\nbreak éA',
      ],
      files: [labels, annotations],
      resource: {
        'k8s.namespace.name': 'shop',
        'k8s.pod.name': 'checkout-7d9f-abc',
        'k8s.node.name': 'node-3',
        'k8s.pod.label.app': 'checkout',
        'k8s.pod.label.app.kubernetes.io/version': '1.4.2',
        'k8s.pod.annotation.team': 'payments "core"',
        'k8s.pod.annotation.note': 'line\nbreak éA',
      },
    });
  });

  it('runs without Kubernetes: unset variables and missing files are warnings', () => {
    const v = validateConfig(
      { 'pod-tags': { fields: ['pod'], labels: ['app'], 'labels-file': join(dir, 'nope') } },
      COMPONENTS,
      {},
    );
    expect(v.config!.podTags.tags).to.deep.equal([]);
    expect(v.config!.podTags.files).to.deep.equal([join(dir, 'nope')]);
    expect(v.issues.map((i) => `${i.severity} ${i.path}`)).to.deep.equal([
      'warning pod-tags.fields',
      'warning pod-tags.labels-file',
    ]);
  });

  it('names the bad key: unknown field, unknown key, a tag name given twice', () => {
    const v = validateConfig(
      { 'pod-tags': { fields: ['pod', 'cluster'], labels: ['pod'], colour: 1, 'labels-file': labels } },
      COMPONENTS,
      env,
    );
    expect(v.config).to.equal(undefined);
    expect(v.issues.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`)).to.deep.equal([
      'pod-tags.colour: unknown key',
      'pod-tags.fields: unknown pod field "cluster"; use namespace, pod, node',
      'labels "pod": tag name "pod" is also produced by fields "pod"; rename one with "key=tag"',
    ]);
  });

  it('sepagent-host and sepagent-port override the [sepagent] section', () => {
    const base = { backends: 'sepagent', sepagent: { host: 'a', port: 1, sep_regexp: '.*', cluster_regexp: '.*' } };
    const v = validateConfig({ ...base, 'sepagent-host': 'agent.local', 'sepagent-port': '7000' }, COMPONENTS);
    expect(v.config!.backendConfigs['sepagent']).to.deep.include({ host: 'agent.local', port: 7000 });
    const ignored = validateConfig({ backends: 'null', 'sepagent-port': '7000' }, COMPONENTS);
    expect(ignored.issues.map((i) => `${i.severity} ${i.path}`)).to.deep.equal(['warning sepagent-port']);
  });
});
