import { spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';

/** Sends SIGTERM to a child process (if it still runs) and resolves once it has exited. */
export async function stopChild(p: ChildProcess | undefined): Promise<void> {
  if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

/**
 * Runs `script` as an ES module (TypeScript imports through tsx, paths from the repository
 * root) in a fresh Node process: for what a process loads, which the test process's module
 * cache cannot tell once other tests loaded it. The script may call `loadedModules()`, the
 * files `require` has loaded so far.
 */
export function runFresh(script: string): SpawnSyncReturns<string> {
  const prelude = `import { createRequire } from 'node:module';
const loadedModules = () => Object.keys(createRequire(import.meta.url).cache);
`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', prelude + script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
}
