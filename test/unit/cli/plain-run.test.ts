import { expect } from 'chai';
import yargs from 'yargs';
import { flagOptions, flagsToConfigOverrides } from '../../../src/cli/flags.js';
import { plainRunArgs } from '../../../src/cli/plain-run.js';
import { COMPONENTS } from '../../../src/daemon/components.js';

/** What the full CLI's `run` command hands its handler for `argv` (undefined: a usage error or another command). */
async function fullCliRunArgs(argv: string[]): Promise<Record<string, unknown> | undefined> {
  let got: Record<string, unknown> | undefined;
  let failed = false;
  await yargs(argv)
    .parserConfiguration({ 'camel-case-expansion': false, 'dot-notation': false, 'duplicate-arguments-array': false })
    .command(
      ['run', '$0'],
      'run',
      (y) => y.options(flagOptions(COMPONENTS)).strict(),
      (args) => {
        got = args;
      },
    )
    .command('check-config [file]', 'check', () => undefined)
    .strictOptions()
    .strictCommands()
    .exitProcess(false)
    .fail(() => {
      failed = true;
    })
    .parseAsync();
  return failed ? undefined : got;
}

const pick = (a: Record<string, unknown>) => ({
  overrides: flagsToConfigOverrides(a, COMPONENTS),
  source: ['config-path', 'configmap', 'configmap-namespace', 'configmap-key', 'kubeconfig'].map((k) => a[k]),
});

describe('plain run command lines: yargs-parser alone, the same flags as the full CLI', () => {
  it('parses what a sidecar starts with exactly as the full CLI does', async () => {
    const lines: string[][] = [
      [],
      ['run'],
      ['--max-workers=1', '--configmap=app-config', '--configmap-key=config.toml', '--metrics-addr=127.0.0.1:8125'],
      ['run', '--web-addr=:8181', '--log-format=json', '--shutdown-timeout=5s'],
      ['--config-path', '/etc/statsd/config.toml', '--verbose'],
      ['--no-verbose', '--ignore-host', '--flush-interval', '10s'],
      ['--verbose=false', '--percent-threshold', '90 99'],
      ['--max-series', '10', '--max-series', '20'],
      ['--namespace=', '--default-tags', 'env:prod team:a'],
      ['--', '--not-a-flag'],
    ];
    for (const argv of lines) {
      const full = await fullCliRunArgs(argv);
      const plain = plainRunArgs(argv);
      if (full === undefined) {
        expect(plain, JSON.stringify(argv)).to.equal(undefined);
        continue;
      }
      // A valid line the fast path handles itself (`--` and what follows go to the full CLI).
      if (argv.includes('--')) {
        expect(plain, JSON.stringify(argv)).to.equal(undefined);
        continue;
      }
      expect(plain, JSON.stringify(argv)).to.not.equal(undefined);
      expect(pick(plain!), JSON.stringify(argv)).to.deep.equal(pick(full));
    }
  });

  it('leaves everything else to the full CLI: commands, help, version, unknown flags, missing values, stray words', async () => {
    const others: string[][] = [
      ['--help'],
      ['run', '-h'],
      ['--version'],
      ['-V'],
      ['check-config', 'x.toml'],
      ['explain', 'a:1|c'],
      ['--no-such-flag'],
      ['--config-path'],
      ['--config-path', '--verbose'],
      ['run', 'extra'],
      ['--verbose', 'stray'],
    ];
    for (const argv of others) expect(plainRunArgs(argv), JSON.stringify(argv)).to.equal(undefined);
    // The full CLI refuses the bad ones (so nothing bad starts a daemon).
    for (const argv of [['--no-such-flag'], ['--config-path'], ['run', 'extra'], ['--verbose', 'stray']])
      expect(await fullCliRunArgs(argv), JSON.stringify(argv)).to.equal(undefined);
  });
});
