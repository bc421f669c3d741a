import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { systemClock, type Clock } from '../shared/clock.js';
import { readUtf8File } from '../shared/documents.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { documentHash } from './reloader.js';

/** What a {@link FileFollower} saw of one file. */
export type FileReading =
  { readonly path: string; readonly text: string } | { readonly path: string; readonly error: unknown };

/** Settings of {@link FileFollower}. */
export interface FileFollowerOptions {
  /** Called, one call at a time, with the files whose content changed (or that could not be read). */
  onChange: (readings: readonly FileReading[], forced: boolean) => void;
  logger: Logger;
  /** Backstop re-read interval, for file systems whose change events get lost (default 5 s). */
  pollMs?: number;
  /** Timers (default: the system clock). */
  clock?: Clock;
}

/**
 * FileFollower follows files through every way they get replaced, the config file and the
 * files it refers to (mapping files, Downward API files) alike:
 *
 * - it watches each file's DIRECTORY, not the file: a watch on the file follows the old
 *   inode and goes deaf after the first rename;
 * - a mounted ConfigMap is a symlink `config.toml → ..data/config.toml`, and the kubelet
 *   swaps the `..data` symlink atomically: a directory event, after which the path
 *   resolves to the new content; editors that rename a temporary file over the original,
 *   likewise;
 * - a periodic re-read catches anything the kernel did not report (network file
 *   systems, a symlink pointing into another directory);
 * - {@link check} with `force` (SIGHUP) reports every file, changed or not.
 *
 * A burst of events becomes one re-read (50 ms debounce); content is compared by hash, so
 * touching a file produces nothing. Re-reads run one at a time, and nothing is reported
 * after {@link stop}.
 */
export class FileFollower {
  readonly #o: FileFollowerOptions;
  readonly #clock: Clock;
  /** Followed files (resolved paths) → hash of the content last reported (undefined: unreadable). */
  readonly #hashes = new Map<string, string | undefined>();
  readonly #watchers = new Map<string, FSWatcher>();
  #poll: (() => void) | undefined;
  #debounce: (() => void) | undefined;
  #reading: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(opts: FileFollowerOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
  }

  /**
   * Follows exactly these files from now on. `known` gives a file's content as already seen
   * (the start-up document), so only later changes are reported; the others are read now.
   */
  async follow(paths: readonly string[], known: ReadonlyMap<string, string> = new Map()): Promise<void> {
    if (this.#stopped) return;
    const wanted = new Map(paths.map((p) => [resolve(p), p]));
    for (const p of [...this.#hashes.keys()]) if (!wanted.has(p)) this.#hashes.delete(p);
    for (const [p, given] of wanted) {
      if (this.#hashes.has(p)) continue;
      const text = known.get(given);
      this.#hashes.set(p, text !== undefined ? documentHash(text) : await hashOf(p));
    }
    const dirs = new Set([...wanted.keys()].map((p) => dirname(p)));
    for (const [d, w] of this.#watchers)
      if (!dirs.has(d)) {
        w.close();
        this.#watchers.delete(d);
      }
    for (const d of dirs) if (!this.#watchers.has(d)) this.#watch(d);
    this.#poll ??= this.#clock.every(this.#o.pollMs ?? 5000, () => void this.check(false));
  }

  /** Re-reads every file now; `force` reports them all, changed or not. */
  check(force: boolean): Promise<void> {
    this.#reading = this.#reading.then(async () => {
      if (this.#stopped) return;
      const readings: FileReading[] = [];
      for (const p of [...this.#hashes.keys()]) {
        let text: string;
        try {
          text = await readUtf8File(p);
        } catch (error) {
          // Mid-swap, or removed: the content in force stays; look again later. Reported
          // once when it goes (and on every forced re-read), not at every poll.
          if (force || this.#hashes.get(p) !== undefined) readings.push({ path: p, error });
          this.#hashes.set(p, undefined);
          continue;
        }
        const hash = documentHash(text);
        if (!force && hash === this.#hashes.get(p)) continue;
        this.#hashes.set(p, hash);
        readings.push({ path: p, text });
      }
      if (readings.length > 0 && !this.#stopped) this.#o.onChange(readings, force);
    });
    return this.#reading;
  }

  stop(): void {
    this.#stopped = true;
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    this.#poll?.();
    this.#debounce?.();
    this.#poll = undefined;
    this.#debounce = undefined;
  }

  #watch(dir: string): void {
    try {
      // Any entry may matter (`..data`, an editor's temporary): the hash filters the noise.
      const w = watch(dir, { persistent: false }, () => this.#schedule());
      w.on('error', (err) => {
        this.#o.logger.warn({ err: errorMessage(err), dir }, 'directory watch failed; polling only');
        w.close();
        this.#watchers.delete(dir);
      });
      this.#watchers.set(dir, w);
    } catch (err) {
      this.#o.logger.warn({ err: errorMessage(err), dir }, 'cannot watch the directory; polling only');
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#debounce?.();
    this.#debounce = this.#clock.after(50, () => {
      this.#debounce = undefined;
      void this.check(false);
    });
  }
}

async function hashOf(path: string): Promise<string | undefined> {
  try {
    return documentHash(await readUtf8File(path));
  } catch {
    return undefined;
  }
}
