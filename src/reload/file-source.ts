import { formatFromName, type ConfigFormat } from '../config/load.js';
import type { Clock } from '../shared/clock.js';
import { readUtf8File } from '../shared/documents.js';
import { DaemonError, errorMessage } from '../shared/errors.js';
import type { ConfigSink, ConfigSource } from './config-source.js';
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

/**
 * FileConfigSource is the config file as a source of documents: read once at start-up,
 * then followed by a {@link FileFollower} (directory watch, kubelet `..data` swaps,
 * renames, a periodic re-read; content compared by hash), and re-read on `hangup()`
 * (SIGHUP), which hands the document on even if unchanged.
 */
export class FileConfigSource implements ConfigSource {
  readonly kind = 'file';
  readonly defersInvalid = false;
  readonly #o: FileConfigSourceOptions;
  readonly #format: ConfigFormat;
  #follower: FileFollower | undefined;
  #sink: ConfigSink | undefined;
  #initial: string | undefined;
  #stopped = false;

  get origin(): string {
    return this.#o.path;
  }

  constructor(opts: FileConfigSourceOptions) {
    this.#o = opts;
    const format = formatFromName(opts.path);
    if (format === undefined)
      throw new DaemonError('ERR_CONFIG_INVALID', `"${opts.path}": unknown file type; use .toml, .yaml, .yml or .json`);
    this.#format = format;
  }

  /** Reads the file once (the start-up document). Rejects, naming `config-path`, if it cannot be read. */
  async initial(): Promise<ConfigDocument> {
    let text: string;
    try {
      text = await readUtf8File(this.#o.path);
    } catch (err) {
      throw new DaemonError('ERR_CONFIG_INVALID', `config-path: cannot read "${this.#o.path}": ${errorMessage(err)}`, {
        cause: err,
      });
    }
    this.#initial = text;
    return this.#doc(text);
  }

  /** The path as given. */
  get path(): string {
    return this.#o.path;
  }

  /**
   * Starts following the file; changes are compared with the start-up document. A changed
   * document is offered (debounced); a forced re-read (SIGHUP) is reloaded at once.
   */
  connect(sink: ConfigSink): void {
    this.#sink = sink;
  }

  start(): Promise<void> {
    const sink = this.#sink;
    if (sink === undefined) throw new DaemonError('ERR_STATE', 'FileConfigSource.start() before connect()');
    if (this.#follower !== undefined || this.#stopped) return Promise.resolve();
    this.#follower = new FileFollower({
      logger: sink.logger,
      ...(this.#o.pollMs !== undefined ? { pollMs: this.#o.pollMs } : {}),
      ...(this.#o.clock !== undefined ? { clock: this.#o.clock } : {}),
      onChange: (readings, forced) => {
        for (const r of readings) {
          if ('text' in r) {
            if (forced) void sink.reload(this.#doc(r.text), true);
            else sink.offer(this.#doc(r.text));
          } else {
            sink.error(r.error);
            sink.logger.warn(
              { err: errorMessage(r.error), path: this.#o.path },
              'cannot read the config file; keeping the current configuration',
            );
          }
        }
      },
    });
    const known = new Map(this.#initial === undefined ? [] : [[this.#o.path, this.#initial]]);
    void this.#follower.follow([this.#o.path], known);
    sink.logger.info({ path: this.#o.path }, 'watching the config file for changes');
    return Promise.resolve();
  }

  /** Re-reads now and reloads the document even if unchanged (SIGHUP). */
  async hangup(): Promise<void> {
    await this.#follower?.check(true);
  }

  shutdown(): Promise<void> {
    this.#stopped = true;
    this.#follower?.stop();
    return Promise.resolve();
  }

  #doc(text: string): ConfigDocument {
    return { text, format: this.#format, origin: `file ${this.#o.path}`, source: 'file' };
  }
}
