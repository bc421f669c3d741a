import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild } from './child.js';
import { freeTcpPort } from './ports.js';
import { waitFor } from './wait-for.js';

/**
 * A real carbon-cache (Debian `graphite-carbon`) in a folder of its own, its plaintext
 * receiver on 127.0.0.1, storing every path at 1 s resolution; points are read back from
 * the whisper files with `whisper-fetch` (Debian `python3-whisper`).
 */
export class Carbon {
  readonly dir: string;
  port = 0;
  #proc: ChildProcess | undefined;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Whether carbon-cache and whisper-fetch are installed (`npm test` installs them). */
  static available(): boolean {
    return (
      spawnSync('sh', ['-c', 'command -v carbon-cache && command -v whisper-fetch'], { stdio: 'ignore' }).status === 0
    );
  }

  static async start(): Promise<Carbon> {
    const c = new Carbon(mkdtempSync(join(tmpdir(), 'carbon-')));
    c.port = await freeTcpPort();
    const [pickle, query] = [await freeTcpPort(), await freeTcpPort()];
    for (const d of ['storage/whisper', 'storage/lists', 'log']) mkdirSync(join(c.dir, d), { recursive: true });
    writeFileSync(
      join(c.dir, 'carbon.conf'),
      `[cache]
STORAGE_DIR = ${c.dir}/storage/
LOCAL_DATA_DIR = ${c.dir}/storage/whisper/
WHITELISTS_DIR = ${c.dir}/storage/lists/
CONF_DIR = ${c.dir}/
LOG_DIR = ${c.dir}/log/
PID_DIR = ${c.dir}/
ENABLE_LOGROTATION = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = ${c.port}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = ${pickle}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = ${query}
LOG_LISTENER_CONN_SUCCESS = False
LOG_UPDATES = False
LOG_CREATES = False
ENABLE_TAGS = False
`,
    );
    writeFileSync(join(c.dir, 'storage-schemas.conf'), '[all]\npattern = .*\nretentions = 1s:1d\n');
    await c.restart();
    return c;
  }

  /** Starts carbon-cache (again, on the same port) and waits until it accepts connections. */
  async restart(): Promise<void> {
    await this.stop();
    this.#proc = spawn('carbon-cache', [`--config=${join(this.dir, 'carbon.conf')}`, '--nodaemon', 'start'], {
      stdio: 'ignore',
    });
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(this.port, '127.0.0.1');
          s.once('connect', () => (s.destroy(), resolve(true)));
          s.once('error', () => resolve(false));
        }),
      20_000,
      'carbon-cache to listen',
    );
  }

  /** Stops carbon-cache (it writes what it holds first). */
  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = undefined;
    await stopChild(p);
    rmSync(join(this.dir, 'carbon-cache-a.pid'), { force: true });
  }

  /** The whisper file of a metric path. */
  file(path: string): string {
    return join(this.dir, 'storage', 'whisper', ...path.split('.')) + '.wsp';
  }

  /** The stored point of `path` at unix second `ts`, or undefined (no file or no point yet). */
  point(path: string, ts: number): number | undefined {
    const f = this.file(path);
    if (!existsSync(f)) return undefined;
    const r = spawnSync('whisper-fetch', ['--json', '--from', String(ts - 1), '--until', String(ts), f], {
      encoding: 'utf8',
    });
    if (r.status !== 0) return undefined;
    const j = JSON.parse(r.stdout) as { start: number; step: number; values: Array<number | null> };
    const v = j.values[(ts - j.start) / j.step];
    return v === null || v === undefined ? undefined : v;
  }

  /** Waits until the point of `path` at `ts` is stored, and returns it. */
  async waitPoint(path: string, ts: number, timeoutMs = 20_000): Promise<number> {
    const found = await waitFor(
      () => {
        const v = this.point(path, ts);
        return v === undefined ? undefined : { v };
      },
      timeoutMs,
      `carbon to store ${path} at ${ts}`,
    );
    return found.v;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
