import { systemClock } from '../shared/clock.js';
import { errorMessage, formatIssues } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { ConfiguredDaemon, prepareDaemon, type ConfigOrigin } from '../daemon/runner.js';
import { packageVersion } from './version.js';
import { releaseStartupHangup, type CliIo } from './io.js';

/** Where the daemon's configuration comes from (flags, environment, a file or a ConfigMap). */
export type RunOptions = ConfigOrigin;

/**
 * Runs the daemon until SIGTERM or SIGINT, then shuts down gracefully within
 * `shutdown-timeout`. Resolves with the exit code: 0 after a clean shutdown, 1 if
 * start-up failed or the deadline passed, 2 for an invalid configuration at start-up. A
 * second signal during shutdown gives up at once (exit 1). SIGHUP reloads the config.
 */
export async function runDaemon(opts: RunOptions, io: CliIo): Promise<number> {
  const prepared = await prepareDaemon({ ...opts, env: io.env });
  if (!prepared.ok) {
    io.stderr.write(`statsd-sepagent: ${prepared.message}\n`);
    return 2;
  }
  const { config } = prepared;
  const logger = createLogger({
    format: config.logFormat,
    level: config.verbose ? 'debug' : 'info',
    destination: io.stderr,
  });
  if (prepared.issues.length > 0)
    logger.warn({ issues: prepared.issues }, `configuration warnings:\n${formatIssues(prepared.issues)}`);
  if (prepared.deferred !== undefined)
    logger.warn({ reason: prepared.deferred }, 'starting on flags and defaults; the ConfigMap is applied once usable');

  const stdout = io.backendStdout?.() ?? io.stdout;
  const running = new ConfiguredDaemon(prepared, { logger, clock: systemClock, version: packageVersion(), stdout });
  let signalled: (sig: string) => void = () => undefined;
  const gotSignal = new Promise<string>((resolve) => (signalled = resolve));
  const onSignal = (sig: NodeJS.Signals): void => signalled(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The one timer that keeps the process alive while it runs (the Clock's never do).
  // eslint-disable-next-line no-restricted-globals
  const keepAlive = setInterval(() => undefined, 1 << 30);
  // Installed before anything is logged: a SIGHUP sent as soon as the daemon says it is
  // up must never meet Node's default action (terminate).
  const onHangup = (): void => void running.hangup();
  process.on('SIGHUP', onHangup);
  releaseStartupHangup(io);
  try {
    try {
      await running.start();
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'start-up failed');
      await running.shutdown(AbortSignal.timeout(config.shutdownTimeoutMs));
      return 1;
    }

    const sig = await gotSignal;
    const shutdownMs = running.config.shutdownTimeoutMs;
    logger.info({ signal: sig, timeoutMs: shutdownMs }, 'shutting down: final flush');
    const deadline = AbortSignal.timeout(shutdownMs);
    const forced = new Promise<'forced'>((resolve) => {
      const again = (s: NodeJS.Signals): void => {
        logger.warn({ signal: s }, 'second signal: exiting without waiting');
        resolve('forced');
      };
      process.on('SIGTERM', again);
      process.on('SIGINT', again);
    });
    const outcome = await Promise.race([running.shutdown(deadline).then(() => 'done' as const), forced]);
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
    process.off('SIGHUP', onHangup);
  }
}
