import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { FileFollower } from './file-follower.js';

/**
 * ReferencedFilesWatcher follows the files a configuration refers to (a Prometheus
 * mapping file, Downward API files, the injector's certificate) with the same
 * {@link FileFollower} as the config file itself. A change of any calls `onChange` once,
 * which re-validates and re-applies the configuration in force.
 */
export class ReferencedFilesWatcher {
  readonly #follower: FileFollower;

  constructor(onChange: () => void, logger: Logger, pollMs = 5000, clock?: Clock) {
    this.#follower = new FileFollower({
      logger,
      pollMs,
      ...(clock !== undefined ? { clock } : {}),
      onChange: (readings) => {
        for (const r of readings)
          logger.info({ path: r.path }, 'a file the configuration refers to changed; reloading');
        onChange();
      },
    });
  }

  /** Follows exactly these files from now on (called after every applied configuration). */
  follow(paths: readonly string[]): Promise<void> {
    return this.#follower.follow(paths);
  }

  stop(): void {
    this.#follower.stop();
  }
}
