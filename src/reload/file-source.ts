import { readUtf8File } from '../shared/documents.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatFromName, type ConfigFormat } from '../config/load.js';
import { DaemonError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { documentHash, type ConfigDocument } from './reloader.js';

/** Settings of {@link FileConfigSource}. */
export interface FileConfigSourceOptions {
  path: string;
  /** Backstop re-read interval, for file systems whose change events get lost (default 5 s). */
  pollMs?: number;
  /** Timers (default: the system clock). */
  clock?: Clock;
}

/** What a started {@link FileConfigSource} reports to. */
export interface FileSourceHandlers {
  /** Called with the document whenever its content changes, or on {@link FileConfigSource.trigger} (forced). */
  onDocument: (doc: ConfigDocument, forced: boolean) => void;
  logger: Logger;
  /** The file could not be read (the config in force stays). */
  onReadError?: (err: unknown) => void;
}

/**
 * FileConfigSource follows a config file through every way it gets replaced:
 *
 * - it watches the file's DIRECTORY, not the file: a watch on the file itself follows
 *   the old inode and goes deaf after the first rename;
 * - a mounted ConfigMap is a symlink `config.toml → ..data/config.toml`, and the kubelet
 *   swaps the `..data` symlink atomically: a directory event, after which the path
 *   resolves to the new content;
 * - editors that write a temporary file and rename it over the original, likewise;
 * - a periodic re-read catches anything the kernel did not report (network file
 *   systems, a symlink pointing into another directory);
 * - `trigger()` (SIGHUP) re-reads and re-applies unconditionally.
 *
 * Content is compared by hash, so touching a file or a burst of events for one change
 * produces at most one document.
 */
export class FileConfigSource {
  readonly #o: FileConfigSourceOptions;
  readonly #path: string;
  #h: FileSourceHandlers | undefined;
  readonly #format: ConfigFormat;
  #lastHash: string | undefined;
  #watcher: FSWatcher | undefined;
  #poll: (() => void) | undefined;
  #debounce: (() => void) | undefined;
  #reading: Promise<void> = Promise.resolve();
  #stopped = false;

  readonly #clock: Clock;

  constructor(opts: FileConfigSourceOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#path = resolve(opts.path);
    const format = formatFromName(opts.path);
    if (format === undefined)
      throw new DaemonError('ERR_CONFIG_INVALID', `"${opts.path}": unknown file type; use .toml, .yaml, .yml or .json`);
    this.#format = format;
  }

  /** Reads the file once (the start-up document). Throws if it cannot be read. */
  async read(): Promise<ConfigDocument> {
    const text = await readUtf8File(this.#path);
    this.#lastHash = documentHash(text);
    return this.#doc(text);
  }

  /** The path as given. */
  get path(): string {
    return this.#o.path;
  }

  /** Starts watching; changes are compared with the last document read. */
  start(handlers: FileSourceHandlers): void {
    if (this.#watcher !== undefined || this.#stopped) return;
    this.#h = handlers;
    try {
      // Any entry may matter (`..data`, an editor's temporary): the hash filters the noise.
      this.#watcher = watch(dirname(this.#path), { persistent: false }, () => this.#schedule());
      this.#watcher.on('error', (err) => {
        this.#h?.logger.warn(
          { err: errorMessage(err), path: this.#path },
          'config directory watch failed; polling only',
        );
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (err) {
      this.#h?.logger.warn(
        { err: errorMessage(err), path: this.#path },
        'cannot watch the config directory; polling only',
      );
    }
    this.#poll = this.#clock.every(this.#o.pollMs ?? 5000, () => void this.#check(false));
  }

  /** Re-reads now and hands the document on even if unchanged (SIGHUP). */
  trigger(): Promise<void> {
    return this.#check(true);
  }

  stop(): void {
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#poll?.();
    this.#debounce?.();
    this.#poll = undefined;
    this.#debounce = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#debounce?.();
    this.#debounce = this.#clock.after(50, () => {
      this.#debounce = undefined;
      void this.#check(false);
    });
  }

  #check(force: boolean): Promise<void> {
    this.#reading = this.#reading.then(async () => {
      if (this.#stopped) return;
      let text: string;
      try {
        text = await readUtf8File(this.#path);
      } catch (err) {
        // Mid-swap, or removed: keep the last good config and look again later.
        this.#h?.onReadError?.(err);
        this.#h?.logger.warn(
          { err: errorMessage(err), path: this.#path },
          'cannot read the config file; keeping the current configuration',
        );
        return;
      }
      const hash = documentHash(text);
      if (!force && hash === this.#lastHash) return;
      this.#lastHash = hash;
      this.#h?.onDocument(this.#doc(text), force);
    });
    return this.#reading;
  }

  #doc(text: string): ConfigDocument {
    return { text, format: this.#format, origin: `file ${this.#o.path}`, source: 'file' };
  }
}
