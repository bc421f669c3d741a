import { systemClock } from '../shared/clock.js';
import { errorMessage, formatIssues, type ConfigIssue } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { configFromDocument, formatFromName, type OverrideLayers } from '../config/load.js';
import type { DaemonConfig } from '../config/config.js';
import { COMPONENTS, referencedFiles } from '../daemon/components.js';
import { Daemon } from '../daemon/daemon.js';
import { ConfigReloader, type ConfigDocument } from '../reload/reloader.js';
import { FileConfigSource } from '../reload/file-source.js';
import { ReferencedFilesWatcher } from '../reload/referenced-files.js';
// Type-only: @kubernetes/client-node costs ~80 MB of RSS to load, so the ConfigMap
// source is imported only when --configmap is given.
import type { ConfigMapSource, ConfigMapDocument } from '../reload/configmap-source.js';
import { packageVersion } from './version.js';
import { releaseStartupHangup, type CliIo } from './io.js';
import type { SelfMetrics } from '../telemetry/self-metrics.js';

/** Where the daemon's configuration comes from. */
export interface RunOptions extends OverrideLayers {
  /** `--config-path`: a watched file. */
  configPath?: string;
  /** `--configmap` and friends: a watched Kubernetes ConfigMap. */
  configMap?: { name: string; namespace?: string; key?: string; kubeconfig?: string };
}

/** How long start-up waits for the API server before starting on flags and defaults. */
const CONFIGMAP_STARTUP_WAIT_MS = 10_000;

/**
 * Runs the daemon until SIGTERM or SIGINT, then shuts down gracefully within
 * `shutdown-timeout`. Resolves with the exit code: 0 after a clean shutdown, 1 if
 * start-up failed or the deadline passed, 2 for an invalid configuration at start-up. A
 * second signal during shutdown gives up at once (exit 1). SIGHUP reloads the config.
 */
export async function runDaemon(opts: RunOptions, io: CliIo): Promise<number> {
  const layers: OverrideLayers = { env: io.env, ...(opts.flags !== undefined ? { flags: opts.flags } : {}) };
  const fail = (message: string): number => {
    io.stderr.write(`statsd-sepagent: ${message}\n`);
    return 2;
  };

  // 1. The start-up document.
  let fileSource: FileConfigSource | undefined;
  let cmSource: ConfigMapSource | undefined;
  let doc: ConfigDocument | undefined;
  let deferred: string | undefined; // why the ConfigMap could not be used at start-up
  if (opts.configPath !== undefined && opts.configPath !== '') {
    if (formatFromName(opts.configPath) === undefined)
      return fail(
        `invalid configuration:\n  error config-path: "${opts.configPath}": unknown file type; use .toml, .yaml, .yml or .json`,
      );
    try {
      fileSource = new FileConfigSource({ path: opts.configPath });
      doc = await fileSource.read();
    } catch (err) {
      return fail(
        `invalid configuration:\n  error config-path: cannot read "${opts.configPath}": ${errorMessage(err)}`,
      );
    }
  } else if (opts.configMap !== undefined) {
    try {
      const { ConfigMapSource } = await import('../reload/configmap-source.js');
      cmSource = new ConfigMapSource({
        name: opts.configMap.name,
        ...(opts.configMap.namespace !== undefined ? { namespace: opts.configMap.namespace } : {}),
        ...(opts.configMap.key !== undefined ? { key: opts.configMap.key } : {}),
        ...(opts.configMap.kubeconfig !== undefined ? { kubeconfigPath: opts.configMap.kubeconfig } : {}),
        env: io.env,
      });
    } catch (err) {
      return fail(`cannot use --configmap: ${errorMessage(err)}`);
    }
    const fetched = await fetchWithRetry(cmSource, CONFIGMAP_STARTUP_WAIT_MS);
    if (typeof fetched === 'object') doc = fetched;
    else deferred = fetched;
  }

  // 2. Validate. An invalid file stops start-up; an unusable ConfigMap does not (the
  //    daemon starts on flags and defaults and applies the ConfigMap once it is fixed).
  let { config, issues } = configFromDocument(doc?.text ?? '', doc?.format ?? 'toml', layers, COMPONENTS);
  if (config === undefined && cmSource !== undefined && doc !== undefined) {
    deferred = `ConfigMap document invalid:\n${formatIssues(issues.filter((i) => i.severity === 'error'))}`;
    ({ config, issues } = configFromDocument('', 'toml', layers, COMPONENTS));
    doc = undefined;
  }
  if (config === undefined) {
    const source = opts.configPath !== undefined ? `configuration (${opts.configPath})` : 'configuration';
    return fail(`invalid ${source}:\n${formatIssues(issues.filter((i) => i.severity === 'error'))}`);
  }
  return runWith(config, issues, doc, deferred, { fileSource, cmSource, layers }, io);
}

async function fetchWithRetry(source: ConfigMapSource, waitMs: number): Promise<ConfigMapDocument | string> {
  const deadline = systemClock.monotonicMs() + waitMs;
  let delay = 250;
  for (;;) {
    try {
      const r = await source.fetch();
      if (r === undefined) return `ConfigMap ${source.ref} does not exist (yet)`;
      return r;
    } catch (err) {
      const refused = (err as { retryable?: boolean }).retryable === false;
      if (refused || systemClock.monotonicMs() + delay > deadline)
        return `cannot read ConfigMap ${source.ref} from ${source.server}: ${errorMessage(err)}`;
      // A timer that keeps the process alive: nothing else does yet during start-up, and
      // the Clock's timers must not.
      // eslint-disable-next-line no-restricted-globals
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}

async function runWith(
  config: DaemonConfig,
  issues: ConfigIssue[],
  doc: ConfigDocument | undefined,
  deferred: string | undefined,
  src: { fileSource: FileConfigSource | undefined; cmSource: ConfigMapSource | undefined; layers: OverrideLayers },
  io: CliIo,
): Promise<number> {
  const logger = createLogger({
    format: config.logFormat,
    level: config.verbose ? 'debug' : 'info',
    destination: io.stderr,
  });
  if (issues.length > 0) logger.warn({ issues }, `configuration warnings:\n${formatIssues(issues)}`);
  if (deferred !== undefined)
    logger.warn({ reason: deferred }, 'starting on flags and defaults; the ConfigMap is applied once usable');

  const stdout = io.backendStdout?.() ?? io.stdout;
  const daemon = new Daemon(config, { logger, clock: systemClock, version: packageVersion(), stdout });
  let signalled: (sig: string) => void = () => undefined;
  const gotSignal = new Promise<string>((resolve) => (signalled = resolve));
  const onSignal = (sig: NodeJS.Signals): void => signalled(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The one timer that keeps the process alive while it runs (the Clock's never do).
  // eslint-disable-next-line no-restricted-globals
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const followed = new ReferencedFilesWatcher(() => void reloader.reapply(), logger);
  const reloader = new ConfigReloader({
    layers: src.layers,
    catalog: COMPONENTS,
    apply: async (c) => {
      const plan = await daemon.applyConfig(c);
      await followed.follow(referencedFiles(daemon.config));
      return plan;
    },
    metrics: daemon.metrics,
    logger,
    clock: systemClock,
  });
  // Installed before anything is logged: a SIGHUP sent as soon as the daemon says it is
  // up must never meet Node's default action (terminate). Before the sources run it is
  // only logged: the document being started with was read moments ago.
  let watching = false;
  const onHangup = (): void => {
    if (watching) void reloadOnSignal(src, reloader, logger);
    else logger.info('SIGHUP during start-up: the configuration being started is current; ignored');
  };
  process.on('SIGHUP', onHangup);
  releaseStartupHangup(io);
  try {
    try {
      await daemon.start();
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'start-up failed');
      await daemon.shutdown(AbortSignal.timeout(config.shutdownTimeoutMs));
      return 1;
    }
    reloader.started(doc);
    await followed.follow(referencedFiles(daemon.config));
    watching = true;
    startSources(src, reloader, logger, daemon.metrics);

    const sig = await gotSignal;
    const shutdownMs = daemon.config.shutdownTimeoutMs;
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
    const stop = async (): Promise<void> => {
      src.fileSource?.stop();
      followed.stop();
      await src.cmSource?.stop();
      await reloader.close();
      await daemon.shutdown(deadline);
    };
    const outcome = await Promise.race([stop().then(() => 'done' as const), forced]);
    if (outcome === 'forced') return 1;
    if (deadline.aborted) {
      logger.warn('shutdown deadline passed; some data may not have been delivered');
      return 1;
    }
    return 0;
  } finally {
    followed.stop();
    clearInterval(keepAlive);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHangup);
  }
}

function startSources(
  src: { fileSource: FileConfigSource | undefined; cmSource: ConfigMapSource | undefined },
  reloader: ConfigReloader,
  logger: Logger,
  metrics: SelfMetrics,
): void {
  const { fileSource, cmSource } = src;
  if (fileSource !== undefined) {
    fileSource.start({
      logger,
      onReadError: () => metrics.configSourceError('file'),
      onDocument: (d, forced) => {
        if (forced) void reloader.reload(d, true);
        else reloader.offer(d);
      },
    });
    logger.info({ path: fileSource.path }, 'watching the config file for changes');
  }
  if (cmSource !== undefined) {
    cmSource.start({
      logger,
      onDocument: (d) => reloader.offer(d, (o) => cmSource.report(d, o)),
      onUnusable: () => reloader.recordRejection(),
      onDeleted: () => undefined,
      onWatchError: () => metrics.configSourceError('configmap'),
    });
    logger.info({ configMap: cmSource.ref, server: cmSource.server }, 'watching the ConfigMap for changes');
  }
}

async function reloadOnSignal(
  src: { fileSource: FileConfigSource | undefined; cmSource: ConfigMapSource | undefined },
  reloader: ConfigReloader,
  logger: Logger,
): Promise<void> {
  logger.info('SIGHUP: reloading the configuration');
  if (src.fileSource !== undefined) {
    await src.fileSource.trigger();
    return;
  }
  if (src.cmSource !== undefined) {
    const cm = src.cmSource;
    try {
      const d = await cm.fetch();
      if (d === undefined)
        logger.warn({ configMap: cm.ref }, 'SIGHUP: the ConfigMap does not exist; nothing to reload');
      else if (typeof d === 'string') logger.error({ configMap: cm.ref }, `SIGHUP: ${d}`);
      else cm.report(d, await reloader.reload(d, true));
    } catch (err) {
      logger.warn({ configMap: cm.ref, err: errorMessage(err) }, 'SIGHUP: cannot read the ConfigMap');
    }
    return;
  }
  logger.info('SIGHUP: no config file or ConfigMap to reload (configuration comes from flags and environment)');
}
