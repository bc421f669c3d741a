import { systemClock } from '../shared/clock.js';
import { ConfigError, errorMessage, formatIssues } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { loadConfig, type ConfigLayers } from '../config/load.js';
import { Daemon } from '../daemon/daemon.js';
import { packageVersion } from './version.js';
import type { CliIo } from './cli.js';

/**
 * Runs the daemon until SIGTERM or SIGINT, then shuts down gracefully within
 * `shutdown-timeout`. Resolves with the exit code: 0 after a clean shutdown, 1 if
 * start-up failed or the deadline passed, 2 for an invalid configuration. A second
 * signal during shutdown gives up at once (exit 1).
 */
export async function runDaemon(layers: ConfigLayers, io: CliIo): Promise<number> {
  let loaded;
  try {
    loaded = await loadConfig(layers);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`statsd-sepagent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { config, warnings } = loaded;
  const logger = createLogger({
    format: config.logFormat,
    level: config.verbose ? 'debug' : 'info',
    destination: io.stderr,
  });
  if (warnings.length > 0) logger.warn({ issues: warnings }, `configuration warnings:\n${formatIssues(warnings)}`);

  const daemon = new Daemon(config, { logger, clock: systemClock, version: packageVersion(), stdout: io.stdout });
  let signalled: (sig: string) => void = () => undefined;
  const gotSignal = new Promise<string>((resolve) => (signalled = resolve));
  const onSignal = (sig: NodeJS.Signals): void => signalled(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    try {
      await daemon.start();
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'start-up failed');
      await daemon.shutdown(AbortSignal.timeout(config.shutdownTimeoutMs));
      return 1;
    }
    const sig = await gotSignal;
    logger.info({ signal: sig, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: final flush');
    const deadline = AbortSignal.timeout(config.shutdownTimeoutMs);
    const forced = new Promise<'forced'>((resolve) => {
      const again = (s: NodeJS.Signals): void => {
        logger.warn({ signal: s }, 'second signal: exiting without waiting');
        resolve('forced');
      };
      process.on('SIGTERM', again);
      process.on('SIGINT', again);
    });
    const outcome = await Promise.race([daemon.shutdown(deadline).then(() => 'done' as const), forced]);
    if (outcome === 'forced') return 1;
    if (deadline.aborted) {
      logger.warn('shutdown deadline passed; some data may not have been delivered');
      return 1;
    }
    return 0;
  } finally {
    clearInterval(keepAlive);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
