import { COMPONENTS } from '../daemon/components.js';
import { envName } from '../config/keys.js';
import type { CliIo } from './io.js';
import { flagsToConfigOverrides } from './flags.js';
import { runDaemon, type RunOptions } from './run.js';

/** Exit codes of the CLI (also in docs/operations.md). */
export const EXIT = {
  OK: 0,
  /** check-config found errors; the daemon failed at runtime or missed its shutdown deadline. */
  FAILURE: 1,
  /** Bad flags or an invalid configuration at start-up. */
  USAGE: 2,
} as const;

export const EPILOG = `Precedence: flag > GSD_* environment variable > config document > default.
The config document is a file (--config-path) or a Kubernetes ConfigMap (--configmap); both are
watched and edits apply live (SIGHUP forces a reload). Sections such as [sepagent] are read from
the document only.
Documentation: docs/config.md (every key), docs/compatibility.md (differences from gostatsd).`;

/**
 * The `run` command (the default): starts the daemon with the parsed flags. Resolves with
 * the exit code, or with a usage error for the caller to print.
 */
export async function runCommand(args: Record<string, unknown>, io: CliIo): Promise<number | { usage: string }> {
  const pick = (key: string): string | undefined => {
    const v = args[key];
    const s = typeof v === 'string' ? v : io.env[envName(key)];
    return s === undefined || s.trim() === '' ? undefined : s.trim();
  };
  const configPath = pick('config-path');
  const configMapName = pick('configmap');
  if (configPath !== undefined && configMapName !== undefined)
    return { usage: 'use either --config-path or --configmap, not both' };
  for (const k of ['configmap-namespace', 'configmap-key', 'kubeconfig']) {
    if (pick(k) !== undefined && configMapName === undefined) return { usage: `--${k} needs --configmap` };
  }
  const opts: RunOptions = { flags: flagsToConfigOverrides(args, COMPONENTS), env: io.env };
  if (configPath !== undefined) opts.configPath = configPath;
  if (configMapName !== undefined) {
    const namespace = pick('configmap-namespace');
    const key = pick('configmap-key');
    const kubeconfig = pick('kubeconfig');
    opts.configMap = {
      name: configMapName,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    };
  }
  return runDaemon(opts, io);
}
