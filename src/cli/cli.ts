import type { CliIo } from './io.js';
import { plainRunArgs } from './plain-run.js';
import { EXIT, runCommand } from './run-command.js';

export { EXIT } from './run-command.js';

/**
 * Parses argv and runs the chosen command. Resolves with the process exit code; never
 * exits by itself (only main.ts does). A plain `run` command line (the daemon with its
 * flags, as a sidecar starts) is parsed by yargs-parser alone; anything else loads the full
 * yargs CLI (commands, help, usage errors).
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const plain = plainRunArgs(argv);
  if (plain === undefined) {
    const { runFullCli } = await import('./full-cli.js');
    return runFullCli(argv, io);
  }
  const r = await runCommand(plain, io);
  if (typeof r === 'number') return r;
  io.stderr.write(`statsd-sepagent: ${r.usage}\nRun "statsd-sepagent --help" for usage.\n`);
  return EXIT.USAGE;
}
