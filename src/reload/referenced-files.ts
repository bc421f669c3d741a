import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { systemClock, type Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { documentHash } from './reloader.js';

/**
 * ReferencedFilesWatcher follows the files a configuration refers to (a Prometheus
 * mapping file) the way the config file itself is followed: a watch on each file's
 * directory (a mounted ConfigMap swaps a symlink there) plus a periodic re-read, with
 * content compared by hash. A change calls `onChange`, which re-validates and re-applies
 * the configuration in force.
 */
export class ReferencedFilesWatcher {
  readonly #onChange: () => void;
  readonly #logger: Logger;
  readonly #hashes = new Map<string, string | undefined>();
  readonly #watchers = new Map<string, FSWatcher>();
  #poll: (() => void) | undefined;
  #debounce: (() => void) | undefined;
  readonly #clock: Clock;

  constructor(onChange: () => void, logger: Logger, pollMs = 5000, clock: Clock = systemClock) {
    this.#onChange = onChange;
    this.#logger = logger;
    this.#clock = clock;
    this.#poll = clock.every(pollMs, () => void this.#check());
  }

  /** Follows exactly these files from now on (called after every applied configuration). */
  async follow(paths: readonly string[]): Promise<void> {
    const wanted = new Set(paths.map((p) => resolve(p)));
    for (const p of [...this.#hashes.keys()]) if (!wanted.has(p)) this.#hashes.delete(p);
    for (const p of wanted) if (!this.#hashes.has(p)) this.#hashes.set(p, await hashOf(p));
    const dirs = new Set([...wanted].map((p) => dirname(p)));
    for (const [d, w] of this.#watchers)
      if (!dirs.has(d)) {
        w.close();
        this.#watchers.delete(d);
      }
    for (const d of dirs) {
      if (this.#watchers.has(d)) continue;
      try {
        const w = watch(d, { persistent: false }, () => this.#schedule());
        w.on('error', () => {
          w.close();
          this.#watchers.delete(d);
        });
        this.#watchers.set(d, w);
      } catch (err) {
        this.#logger.warn({ dir: d, err: String(err) }, 'cannot watch a referenced file directory; polling only');
      }
    }
  }

  stop(): void {
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    this.#poll?.();
    this.#debounce?.();
    this.#poll = undefined;
  }

  #schedule(): void {
    this.#debounce?.();
    this.#debounce = this.#clock.after(50, () => {
      this.#debounce = undefined;
      void this.#check();
    });
  }

  async #check(): Promise<void> {
    let changed = false;
    for (const [p, old] of this.#hashes) {
      const h = await hashOf(p);
      if (h !== old) {
        this.#hashes.set(p, h);
        changed = true;
        this.#logger.info({ path: p }, 'a file the configuration refers to changed; reloading');
      }
    }
    if (changed) this.#onChange();
  }
}

async function hashOf(path: string): Promise<string | undefined> {
  try {
    return documentHash(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}
