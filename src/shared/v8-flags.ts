/** The environment variable whose V8 options the daemon sets at start-up. */
export const V8_FLAGS_ENV = 'STATSD_SEPAGENT_V8_FLAGS';

/**
 * The V8 options in `value` (space-separated, each `--name` or `--name=value`), for those
 * that NODE_OPTIONS refuses, such as `--no-maglev`. Anything else in it is ignored: a
 * typo cannot stop the daemon (V8 itself ignores options it does not know).
 */
export function v8FlagsOf(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter((f) => /^--[a-z][a-z0-9_-]*(=[^\s]*)?$/i.test(f));
}
