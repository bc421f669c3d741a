import { expect } from 'chai';
import { flagOptions, flagsToConfigOverrides } from '../../../src/cli/flags.js';
import { docsRow, topLevelKeys } from '../../../src/config/keys.js';
import { envOverrides } from '../../../src/config/load.js';
import { validateConfig } from '../../../src/config/validate.js';
import { COMPONENTS, type Components } from '../../../src/daemon/components.js';
import type { ReceiverFactory } from '../../../src/receivers/receiver.js';
import type { KeySpec } from '../../../src/shared/config-key.js';
import { keySchema } from '../../../scripts/chart-schema.js';

// The worked example of docs/architecture.md ("Adding a config key"): one row, and what
// derives from it. A daemon key's row goes in KEYS (src/config/keys.ts) and is read in
// validateConfig; here the row rides on a receiver (whose rows are the one-folder way to
// add keys), so the test can hand it to the real validation, flags and docs without
// editing src/.

const ROW: KeySpec = {
  key: 'example-queue-size',
  type: 'int',
  default: '512',
  min: 1,
  max: 65_536,
  group: 'Listeners',
  reload: 'restart',
  describe: 'Datagrams the example receiver queues before it drops and counts them',
};

const exampleReceiver: ReceiverFactory<{ queueSize: number }> = {
  type: 'example',
  description: 'carries the example key',
  keys: { queueSize: 'example-queue-size' },
  rows: [ROW],
  validate: (read) => ({ queueSize: read.int('example-queue-size') }),
  create: () => {
    throw new Error('not started in this example');
  },
};

const components: Components = {
  ...COMPONENTS,
  receivers: new Map([...COMPONENTS.receivers, ['example', exampleReceiver]]),
};

const settings = (doc: Record<string, unknown>): { queueSize: number } | undefined =>
  validateConfig(doc, components).config?.receivers['example'] as { queueSize: number } | undefined;

describe('adding a config key (the worked example of docs/architecture.md)', () => {
  it('the row is the default: unset, the declared value applies', () => {
    expect(settings({})).to.deep.equal({ queueSize: 512 });
    expect(settings({ 'example-queue-size': '2048' })).to.deep.equal({ queueSize: 2048 });
  });

  it('the row is the check: a value out of its bounds is refused, naming the key', () => {
    const v = validateConfig({ 'example-queue-size': 0 }, components);
    expect(v.config).to.equal(undefined);
    expect(v.issues).to.deep.equal([
      { path: 'example-queue-size', severity: 'error', message: 'must be between 1 and 65536, got 0' },
    ]);
  });

  it('the row is the flag, the GSD_ variable and the --help line', () => {
    expect(topLevelKeys(components)).to.include(ROW);
    const flag = flagOptions(components)['example-queue-size']!;
    expect(flag.defaultDescription).to.equal('512');
    expect(flag.describe).to.equal(`${ROW.describe} [env GSD_EXAMPLE_QUEUE_SIZE]`);
    expect(flag.group).to.equal('Listeners:');
    expect(flagsToConfigOverrides({ 'example-queue-size': '64' }, components)).to.deep.equal({
      'example-queue-size': '64',
    });
    expect(envOverrides({ GSD_EXAMPLE_QUEUE_SIZE: '128' }, components)).to.deep.equal({ 'example-queue-size': '128' });
  });

  it('the row is the docs line and the chart schema entry', () => {
    expect(docsRow(ROW)).to.equal(
      '| `example-queue-size` | int | 512 | restart | Datagrams the example receiver queues before it drops and counts them |',
    );
    expect(keySchema(ROW)).to.deep.equal({
      type: 'integer',
      minimum: 1,
      maximum: 65_536,
      description: ROW.describe,
    });
  });
});
