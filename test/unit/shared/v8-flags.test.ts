import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { v8FlagsOf } from '../../../src/shared/v8-flags.js';

describe('V8 options from STATSD_SEPAGENT_V8_FLAGS', () => {
  it('takes --name and --name=value, space-separated, and ignores anything else', () => {
    expect(v8FlagsOf(undefined)).to.deep.equal([]);
    expect(v8FlagsOf('  --no-maglev   --stack-trace-limit=5 ')).to.deep.equal(['--no-maglev', '--stack-trace-limit=5']);
    expect(v8FlagsOf('no-maglev -x --; rm --ok')).to.deep.equal(['--ok']);
  });

  it('an option set this way takes effect in the running process', () => {
    // The same call main.ts makes, in a process of its own: --stack-trace-limit is observable.
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./src/shared/v8-flags.ts').then(({ v8FlagsOf }) => { for (const f of v8FlagsOf(process.env.F)) require('node:v8').setFlagsFromString(f); console.log(new Error('x').stack.split('\\n').length - 1); })",
      ],
      { env: { ...process.env, F: '--stack-trace-limit=1' }, encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.stdout.trim(), r.stderr).to.equal('1');
  });
});
