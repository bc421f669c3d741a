import type { Options } from 'yargs';
import { envName, KEYS, SOURCE_KEYS, type KeySpec } from '../config/keys.js';

/** yargs option definitions generated from the key table, so flags, env and files agree. */
export function flagOptions(): Record<string, Options> {
  const out: Record<string, Options> = {};
  for (const k of KEYS) out[k.key] = optionFor(k);
  return out;
}

function optionFor(k: KeySpec): Options {
  const env = k.key === 'config-path' ? '' : ` [env ${envName(k.key)}]`;
  return {
    type: k.type === 'bool' ? 'boolean' : 'string',
    describe: `${k.describe}${env}`,
    defaultDescription: k.shown,
    group: `${k.group}:`,
    hidden: k.noEffect === true,
    requiresArg: k.type !== 'bool',
  };
}

/** The explicitly given flags as raw config overrides (keys as in config files). */
export function flagsToConfigOverrides(argv: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) {
    if (SOURCE_KEYS.has(k.key)) continue;
    const v = argv[k.key];
    if (v !== undefined) out[k.key] = Array.isArray(v) ? v[v.length - 1] : v;
  }
  return out;
}
