import type { Options } from 'yargs';
import type { ConfigCatalog } from '../config/catalog.js';
import { envName, SOURCE_KEYS, topLevelKeys, type KeySpec } from '../config/keys.js';
import { shownDefault } from '../shared/config-key.js';

/** yargs option definitions generated from the key table, so flags, env and files agree. */
export function flagOptions(catalog: Pick<ConfigCatalog, 'receivers'>): Record<string, Options> {
  const out: Record<string, Options> = {};
  for (const k of topLevelKeys(catalog)) out[k.key] = optionFor(k);
  return out;
}

function optionFor(k: KeySpec): Options {
  const env = k.key === 'config-path' ? '' : ` [env ${envName(k.key)}]`;
  return {
    type: k.type === 'bool' ? 'boolean' : 'string',
    describe: `${k.describe}${env}`,
    defaultDescription: shownDefault(k),
    group: `${k.group}:`,
    hidden: k.noEffect === true,
    requiresArg: k.type !== 'bool',
  };
}

/** The explicitly given flags as raw config overrides (keys as in config files). */
export function flagsToConfigOverrides(
  argv: Record<string, unknown>,
  catalog: Pick<ConfigCatalog, 'receivers'>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of topLevelKeys(catalog)) {
    if (SOURCE_KEYS.has(k.key)) continue;
    const v = argv[k.key];
    if (v !== undefined) out[k.key] = Array.isArray(v) ? v[v.length - 1] : v;
  }
  return out;
}
