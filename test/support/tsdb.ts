import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild } from './child.js';
import { freeTcpPort } from './ports.js';
import { waitFor } from './wait-for.js';

/**
 * A real time-series database that takes Prometheus remote write, on 127.0.0.1 with its
 * data in a temporary folder: VictoriaMetrics (Debian `victoria-metrics`) or Prometheus
 * (`--web.enable-remote-write-receiver`). Values are read back with the Prometheus query
 * API both serve.
 */
export class Tsdb {
  readonly kind: 'victoria-metrics' | 'prometheus';
  readonly dir: string;
  port = 0;
  #proc: ChildProcess | undefined;
  readonly #flags: readonly string[];

  private constructor(kind: Tsdb['kind'], flags: readonly string[]) {
    this.kind = kind;
    this.#flags = flags;
    this.dir = mkdtempSync(join(tmpdir(), `${kind}-`));
  }

  static available(kind: Tsdb['kind']): boolean {
    return spawnSync('sh', ['-c', `command -v ${kind}`], { stdio: 'ignore' }).status === 0;
  }

  /** Starts `kind` with its own flags and `flags` (e.g. `--enable-feature=native-histograms`). */
  static async start(kind: Tsdb['kind'], flags: readonly string[] = []): Promise<Tsdb> {
    const t = new Tsdb(kind, flags);
    t.port = await freeTcpPort();
    if (kind === 'prometheus') writeFileSync(join(t.dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
    await t.restart();
    return t;
  }

  /** The remote-write endpoint. */
  get writeUrl(): string {
    return `http://127.0.0.1:${this.port}/api/v1/write`;
  }

  /** (Re)starts the server on the same port and data, and waits until it answers. */
  async restart(): Promise<void> {
    await this.stop();
    const args =
      this.kind === 'victoria-metrics'
        ? [
            `-storageDataPath=${join(this.dir, 'data')}`,
            `-httpListenAddr=127.0.0.1:${this.port}`,
            '-search.latencyOffset=0s',
            '-search.disableCache',
            '-retentionPeriod=1d',
            '-loggerLevel=ERROR',
          ]
        : [
            `--config.file=${join(this.dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${join(this.dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${this.port}`,
            '--web.enable-remote-write-receiver',
            '--log.level=error',
          ];
    this.#proc = spawn(this.kind, [...args, ...this.#flags], { stdio: 'ignore' });
    const ready = this.kind === 'victoria-metrics' ? '/health' : '/-/ready';
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${this.port}${ready}`).catch(() => undefined))?.ok === true,
      30_000,
      `${this.kind} to start`,
    );
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = undefined;
    await stopChild(p);
  }

  /** An instant query at `atSeconds` (default now): the single result's value, or undefined. */
  async query(expr: string, atSeconds?: number): Promise<number | undefined> {
    // VictoriaMetrics makes recent rows searchable every few seconds, or at once when asked.
    if (this.kind === 'victoria-metrics') await fetch(`http://127.0.0.1:${this.port}/internal/force_flush`);
    const q = new URLSearchParams({ query: expr });
    if (atSeconds !== undefined) q.set('time', String(atSeconds));
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/query?${q.toString()}`);
    const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
    const r = body.data?.result ?? [];
    return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
  }

  /** Waits until `expr` reads `expected`; returns what it read last (for the assertion). */
  async until(expr: string, expected: number, timeoutMs = 20_000): Promise<number | undefined> {
    let last: number | undefined;
    try {
      await waitFor(async () => (last = await this.query(expr)) === expected, timeoutMs, `${expr} = ${expected}`);
    } catch {
      // the caller's assertion shows the value
    }
    return last;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
