import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';
import type { ConfigDocument, ReloadOutcome } from './reloader.js';

/**
 * Where the daemon's configuration documents come from: the config file, a Kubernetes
 * ConfigMap, or none (flags, `GSD_` variables and defaults). The daemon's runner composes
 * a source with the reloader; nothing else knows which kind it has.
 */
export interface ConfigSource extends Lifecycle {
  /** `file`, `configmap` or `defaults`: the `source` label of config_info and config_source_errors_total. */
  readonly kind: 'file' | 'configmap' | 'defaults';
  /** Where exactly: the file's path, the ConfigMap's `namespace/name`, or `''` (the status page shows it). */
  readonly origin: string;
  /**
   * The start-up document: a document, `undefined` (none: start on flags and defaults), or
   * `{ unusable }` when the source exists but cannot be used yet (start on flags and
   * defaults, apply it once it can). Rejects with a message when start-up must fail (a
   * config file that cannot be read).
   */
  initial(): Promise<ConfigDocument | undefined | { readonly unusable: string }>;
  /** Whether a start-up document that fails validation is deferred (a ConfigMap) rather than fatal (a file). */
  readonly defersInvalid: boolean;
  /** Where documents and problems go once started; called once, before `start()`. */
  connect(sink: ConfigSink): void;
  /** `start()` follows the source; `shutdown()` stops following, and nothing reaches the sink afterwards. */
  /** SIGHUP: re-read now and hand the document on even if it is unchanged. */
  hangup(): Promise<void>;
}

/** What a started {@link ConfigSource} reports to (the runner, in front of the reloader). */
export interface ConfigSink {
  readonly logger: Logger;
  /** A new document, debounced with others (the last of a burst wins); `report` gets its outcome. */
  offer(doc: ConfigDocument, report?: (outcome: ReloadOutcome) => void): void;
  /** A document to process now, even if unchanged (`force`), after any reload in progress. */
  reload(doc: ConfigDocument, force: boolean): Promise<ReloadOutcome>;
  /** The source refused a document itself (a ConfigMap without its key): counted as a failed reload. */
  rejected(): void;
  /** Reading or watching failed; the configuration in force stays (counted, retried by the source). */
  error(err: unknown): void;
}

/** No source: the configuration is flags, `GSD_` variables and defaults alone. */
export class DefaultsSource implements ConfigSource {
  readonly kind = 'defaults';
  readonly origin = '';
  readonly defersInvalid = false;
  #sink: ConfigSink | undefined;

  initial(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  connect(sink: ConfigSink): void {
    this.#sink = sink;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  hangup(): Promise<void> {
    this.#sink?.logger.info(
      'SIGHUP: no config file or ConfigMap to reload (configuration comes from flags and environment)',
    );
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
