import type { ChildProcess } from 'node:child_process';

/** Sends SIGTERM to a child process (if it still runs) and resolves once it has exited. */
export async function stopChild(p: ChildProcess | undefined): Promise<void> {
  if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}
