import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait-for.js';

/** Path of the built CLI; e2e tests run `npm run build` first (the test script does). */
export const CLI = 'dist/main.js';

/** A running `statsd-sepagent` child process with its output collected. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  exitCode: number | null | undefined;
  readonly exited: Promise<number | null>;

  /**
   * `opts.blockStdout`: never read the child's standard output, so the pipe fills up and
   * stays full (a consumer that stopped reading).
   */
  constructor(args: string[], env: Record<string, string> = {}, opts: { blockStdout?: boolean } = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (opts.blockStdout === true) this.child.stdout!.pause();
    else this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
  }

  /** JSON log records written so far. */
  logs(): Array<Record<string, unknown>> {
    return this.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Waits for a log record with this message; returns it. */
  waitForLog(msg: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    return waitFor(
      () => this.logs().find((r) => r['msg'] === msg),
      timeoutMs,
      `log "${msg}" (stderr so far: ${this.stderr.slice(-500)})`,
    );
  }

  /** Waits until the daemon logged its start, then returns the bound ports. */
  async ready(): Promise<{ udp: number; web: number; tcp?: number; http: Record<string, number> }> {
    await this.waitForLog('statsd-sepagent started');
    const portOf = (r: Record<string, unknown>): number => Number(String(r['address']).split(':').pop());
    const port = (msg: string): number | undefined => {
      const r = this.logs().find((l) => l['msg'] === msg);
      return r === undefined ? undefined : portOf(r);
    };
    // `[http.<name>]` servers log "http server <name> listening".
    const http: Record<string, number> = {};
    for (const r of this.logs()) {
      const m = /^http server (.+) listening$/.exec(String(r['msg']));
      if (m !== null) http[m[1]!] = portOf(r);
    }
    const out: { udp: number; web: number; tcp?: number; http: Record<string, number> } = {
      udp: port('udp receiver listening')!,
      web: port('admin http server listening')!,
      http,
    };
    const tcp = port('tcp receiver listening');
    if (tcp !== undefined) out.tcp = tcp;
    return out;
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill(signal);
    return this.exited;
  }
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCliOnce(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new CliProcess(args, env);
  const guard = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  const code = await p.exited;
  clearTimeout(guard);
  return { code, stdout: p.stdout, stderr: p.stderr };
}
