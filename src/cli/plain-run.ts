import { createRequire } from 'node:module';
import type * as YargsParser from 'yargs-parser';
import { COMPONENTS } from '../daemon/components.js';
import { topLevelKeys } from '../config/keys.js';

const require = createRequire(import.meta.url);

/** What makes a command line more than flags for `run`: the full CLI handles it. */
const FULL_CLI_TOKENS = new Set(['--help', '-h', '--version', '-V']);

/**
 * The flags of a plain `run` command line (`[run] --flag value …`), parsed by yargs-parser,
 * the parser yargs itself runs, with the same options (the key table's types) and parser
 * configuration: or undefined when the line is anything else (another command, `--help`,
 * `--version`, an unknown flag, a flag without its value, a stray word), which the full
 * yargs CLI then parses and reports. So a daemon starting from a correct command line does
 * not load yargs' commands, help and locales (~3 MB less per process; docs/performance.md).
 */
export function plainRunArgs(argv: readonly string[]): Record<string, unknown> | undefined {
  if (argv.some((a) => FULL_CLI_TOKENS.has(a))) return undefined;
  const rest = argv[0] === 'run' ? argv.slice(1) : argv;
  if (rest.length > 0 && !rest[0]!.startsWith('-')) return undefined;
  const keys = topLevelKeys(COMPONENTS);
  const booleans = keys.filter((k) => k.type === 'bool').map((k) => k.key);
  const strings = keys.filter((k) => k.type !== 'bool').map((k) => k.key);
  const parse = require('yargs-parser') as typeof YargsParser;
  const r = parse.detailed([...rest], {
    boolean: booleans,
    string: strings,
    configuration: {
      'camel-case-expansion': false,
      'dot-notation': false,
      'duplicate-arguments-array': false,
    },
  });
  if (r.error !== null && r.error !== undefined) return undefined;
  const known = new Set(keys.map((k) => k.key));
  const args = r.argv as Record<string, unknown>;
  if (Object.keys(args).some((k) => k !== '_' && k !== '--' && !known.has(k))) return undefined;
  // A string flag needs its value (yargs' requiresArg): `--config-path` at the end or before
  // another flag is an error (`--namespace=` gives the empty value on purpose).
  const stringFlags = new Set(strings.map((k) => `--${k}`));
  for (let i = 0; i < rest.length; i++)
    if (stringFlags.has(rest[i]!) && (i + 1 === rest.length || rest[i + 1]!.startsWith('-'))) return undefined;
  if ((args['_'] as unknown[]).length > 0) return undefined;
  // Flags the line does not give stay absent (the key table's defaults apply later, as with yargs).
  for (const k of booleans)
    if (!rest.some((a) => a === `--${k}` || a === `--no-${k}` || a.startsWith(`--${k}=`))) delete args[k];
  return args;
}
