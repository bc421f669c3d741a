import { formatFromName, type ConfigFormat } from '../config/load.js';
import type { Clock } from '../shared/clock.js';
import { readUtf8File } from '../shared/documents.js';
import { DaemonError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { FileFollower } from './file-follower.js';
import type { ConfigDocument } from './reloader.js';

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
 * FileConfigSource is the config file as a source of documents: read once at start-up,
 * then followed by a {@link FileFollower} (directory watch, kubelet `..data` swaps,
 * renames, a periodic re-read; content compared by hash), and re-read on `trigger()`
 * (SIGHUP), which hands the document on even if unchanged.
 */
export class FileConfigSource {
  readonly #o: FileConfigSourceOptions;
  readonly #format: ConfigFormat;
  #follower: FileFollower | undefined;
  #initial: string | undefined;
  #stopped = false;

  constructor(opts: FileConfigSourceOptions) {
    this.#o = opts;
    const format = formatFromName(opts.path);
    if (format === undefined)
      throw new DaemonError('ERR_CONFIG_INVALID', `"${opts.path}": unknown file type; use .toml, .yaml, .yml or .json`);
    this.#format = format;
  }

  /** Reads the file once (the start-up document). Throws if it cannot be read. */
  async read(): Promise<ConfigDocument> {
    const text = await readUtf8File(this.#o.path);
    this.#initial = text;
    return this.#doc(text);
  }

  /** The path as given. */
  get path(): string {
    return this.#o.path;
  }

  /** Starts following the file; changes are compared with the last document read. */
  start(handlers: FileSourceHandlers): void {
    if (this.#follower !== undefined || this.#stopped) return;
    this.#follower = new FileFollower({
      logger: handlers.logger,
      ...(this.#o.pollMs !== undefined ? { pollMs: this.#o.pollMs } : {}),
      ...(this.#o.clock !== undefined ? { clock: this.#o.clock } : {}),
      onChange: (readings, forced) => {
        for (const r of readings) {
          if ('text' in r) handlers.onDocument(this.#doc(r.text), forced);
          else {
            handlers.onReadError?.(r.error);
            handlers.logger.warn(
              { err: errorMessage(r.error), path: this.#o.path },
              'cannot read the config file; keeping the current configuration',
            );
          }
        }
      },
    });
    const known = new Map(this.#initial === undefined ? [] : [[this.#o.path, this.#initial]]);
    void this.#follower.follow([this.#o.path], known);
  }

  /** Re-reads now and hands the document on even if unchanged (SIGHUP). */
  async trigger(): Promise<void> {
    await this.#follower?.check(true);
  }

  stop(): void {
    this.#stopped = true;
    this.#follower?.stop();
  }

  #doc(text: string): ConfigDocument {
    return { text, format: this.#format, origin: `file ${this.#o.path}`, source: 'file' };
  }
}
