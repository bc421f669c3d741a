import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

const require = createRequire(import.meta.url);
let yamlModule: typeof Yaml | undefined;

/** The YAML parser, loaded on first use: most daemons never read YAML (~3 MB of idle RSS). */
export function yaml(): typeof Yaml {
  return (yamlModule ??= require('yaml') as typeof Yaml);
}
