import { parseStructured, readUtf8File } from '../shared/documents.js';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { configFromDocument } from '../config/load.js';
import { topLevelKeys } from '../config/keys.js';
import { COMPONENTS } from '../daemon/components.js';
import { podNamespace } from '../reload/configmap-source.js';
import { loadKubeConfig } from '../reload/kubeconfig.js';
import { ReferencedFilesWatcher } from '../reload/referenced-files.js';
import { DaemonError, errorMessage, formatIssues } from '../shared/errors.js';
import { RoutedHttpServer, textHandler, type ServingCertificate } from '../shared/http-server.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/logger.js';
import type { FlagChecker } from './annotations.js';
import { InjectorMetrics } from './metrics.js';
import { admit, type AdmissionContext } from './mutate.js';
import { ClassReconciler } from './reconciler.js';
import { validateSettings, type InjectorSettings } from './settings.js';

/** Paths of the webhook: pods that opted in by annotation, and pods of namespaces labelled for injection. */
export const WEBHOOK_PATHS = { annotated: '/mutate', namespace: '/mutate/namespace' } as const;

/** The largest AdmissionReview read (the API server sends at most ~3 MiB). */
export const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

/** Settings of {@link Injector}. */
export interface InjectorOptions {
  /** The settings document (YAML or JSON): the sidecar every pod gets. */
  settingsPath: string;
  /** HTTPS address of the webhook (`:8443`). */
  listen: string;
  /** HTTP address of /metrics, /healthz and /readyz (`''` = off). */
  webAddr: string;
  certFile: string;
  keyFile: string;
  /** Where classes live; default: POD_NAMESPACE, the service account's, the kubeconfig context's. */
  namespace?: string;
  kubeconfig?: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** How often the certificate files are re-read besides file events (default 5 s). */
  certificatePollMs?: number;
  /** A reconcile pass with a failed API write runs again after this long (default 5 s). */
  retryMs?: number;
}

/** Reads and validates the settings document (YAML or JSON); throws with every problem. */
export async function loadSettings(path: string): Promise<InjectorSettings> {
  let text: string;
  try {
    text = await readUtf8File(path);
  } catch (err) {
    throw new DaemonError('ERR_CONFIG_INVALID', `settings "${path}": ${errorMessage(err)}`, { cause: err });
  }
  const parsed = parseStructured(text, 'yaml');
  if (!parsed.ok) throw new DaemonError('ERR_CONFIG_INVALID', `settings "${path}": ${parsed.error}`);
  const { settings, issues } = validateSettings(parsed.value);
  if (settings === undefined)
    throw new DaemonError(
      'ERR_CONFIG_INVALID',
      `invalid settings (${path}):\n${formatIssues(issues.filter((i) => i.severity === 'error'))}`,
    );
  return settings;
}

/** Daemon flags checked as the daemon checks them (only problems of the flags themselves). */
export const checkDaemonFlags: FlagChecker = (flags) =>
  configFromDocument('', 'toml', { flags, env: {} }, COMPONENTS).issues.filter((i) => i.path in flags);

/** The keys daemon flags may name. */
export const DAEMON_FLAG_KEYS: ReadonlySet<string> = new Set(
  topLevelKeys(COMPONENTS)
    .filter((k) => k.noEffect !== true)
    .map((k) => k.key),
);

/** Past this many bytes an oversized body is no longer drained before the 400: the connection is cut. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Reads a request body up to `limit` bytes. A longer one is drained (up to
 * {@link DRAIN_LIMIT_BYTES}, so the client reads the answer instead of a broken pipe) and
 * rejected with a message.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooBig = (): Error =>
      new DaemonError('ERR_INPUT', `the review is over ${limit} bytes; at most ${limit} are read`);
    const declared = Number(req.headers['content-length'] ?? '0');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
      else if (size > DRAIN_LIMIT_BYTES) {
        reject(tooBig());
        req.destroy();
      }
    });
    req.on('end', () => (size > limit ? reject(tooBig()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
    if (declared > DRAIN_LIMIT_BYTES) {
      reject(tooBig());
      req.destroy();
    }
  });
}

/**
 * Injector is the `statsd-sepagent injector` process: the mutating admission webhook on
 * HTTPS, the class reconciler, and an HTTP server for /metrics, /healthz and /readyz
 * (ready once the classes, injected pods and copies have been listed). The serving
 * certificate is re-read when its files change (a rotated Secret), without a restart.
 */
export class Injector implements Lifecycle {
  readonly metrics = new InjectorMetrics();
  readonly #o: InjectorOptions;
  #settings: InjectorSettings | undefined;
  #reconciler: ClassReconciler | undefined;
  #webhook: RoutedHttpServer | undefined;
  #admin: RoutedHttpServer | undefined;
  #certWatch: ReferencedFilesWatcher | undefined;
  #namespace = '';

  constructor(opts: InjectorOptions) {
    this.#o = opts;
  }

  get namespace(): string {
    return this.#namespace;
  }

  /** The webhook's bound port. */
  get port(): number {
    return this.#webhook?.address().port ?? 0;
  }

  /** The /metrics server's bound port (0 when off). */
  get webPort(): number {
    return this.#admin?.address().port ?? 0;
  }

  get reconciler(): ClassReconciler {
    if (this.#reconciler === undefined) throw new DaemonError('ERR_STATE', 'injector not started');
    return this.#reconciler;
  }

  async #certificate(): Promise<ServingCertificate> {
    const [cert, key] = await Promise.all([readFile(this.#o.certFile), readFile(this.#o.keyFile)]);
    return { cert, key };
  }

  async start(): Promise<void> {
    const { logger } = this.#o;
    this.#settings = await loadSettings(this.#o.settingsPath);
    const kc = loadKubeConfig(this.#o.kubeconfig);
    this.#namespace = podNamespace(
      this.#o.namespace,
      this.#o.env,
      kc.getContextObject(kc.getCurrentContext())?.namespace,
    );
    let tls: ServingCertificate;
    try {
      tls = await this.#certificate();
    } catch (err) {
      throw new DaemonError('ERR_INPUT', `cannot read the serving certificate: ${errorMessage(err)}`, { cause: err });
    }
    this.#reconciler = new ClassReconciler({
      kubeConfig: kc,
      namespace: this.#namespace,
      validate: (text, format) => configFromDocument(text, format, { env: {} }, COMPONENTS).issues,
      logger,
      metrics: this.metrics,
      instance: this.#o.env['POD_NAME'] ?? 'statsd-sepagent-injector',
      ...(this.#o.retryMs !== undefined ? { retryMs: this.#o.retryMs } : {}),
    });
    const ctx: AdmissionContext = {
      settings: this.#settings,
      ownNamespace: this.#namespace,
      lookupClass: (name) => this.reconciler.lookupClass(name),
      knownKeys: DAEMON_FLAG_KEYS,
      checkFlags: checkDaemonFlags,
    };
    const webhook = new RoutedHttpServer({
      address: this.#o.listen,
      key: 'listen',
      what: 'injector webhook (https)',
      logger,
      tls,
    });
    for (const [path, namespaceOptIn] of [
      [WEBHOOK_PATHS.annotated, false],
      [WEBHOOK_PATHS.namespace, true],
    ] as const)
      webhook.register({
        path,
        owner: 'injector',
        methods: ['POST'],
        acceptsBody: true,
        handler: (req, res) => this.#review(req, res, ctx, namespaceOptIn),
      });
    webhook.register({ path: '/healthz', owner: 'injector', methods: ['GET'], handler: textHandler(200, 'ok\n') });
    this.#reconciler.start();
    await webhook.start();
    this.#webhook = webhook;
    this.metrics.certificateLoads.inc({ result: 'ok' });
    this.#certWatch = new ReferencedFilesWatcher(
      () => void this.#reloadCertificate(),
      logger,
      this.#o.certificatePollMs,
    );
    await this.#certWatch.follow([this.#o.certFile, this.#o.keyFile]);
    if (this.#o.webAddr !== '') {
      const admin = new RoutedHttpServer({
        address: this.#o.webAddr,
        key: 'web-addr',
        what: 'injector metrics server',
        logger,
      });
      admin.register({
        path: '/metrics',
        owner: 'injector',
        methods: ['GET'],
        handler: async (_req, res) => {
          res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
          res.end(await this.metrics.registry.metrics());
        },
      });
      admin.register({ path: '/healthz', owner: 'injector', methods: ['GET'], handler: textHandler(200, 'ok\n') });
      admin.register({
        path: '/readyz',
        owner: 'injector',
        methods: ['GET'],
        handler: (_req, res) => {
          const ready = this.reconciler.synced;
          res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(ready ? 'ready\n' : 'listing classes, injected pods and copies\n');
        },
      });
      await admin.start();
      this.#admin = admin;
    }
    logger.info(
      { namespace: this.#namespace, webhook: this.#o.listen, native: this.#settings.nativeSidecar },
      'statsd-sepagent injector running',
    );
  }

  async #reloadCertificate(): Promise<void> {
    try {
      this.#webhook?.setCertificate(await this.#certificate());
      this.metrics.certificateLoads.inc({ result: 'ok' });
      this.#o.logger.info({ certFile: this.#o.certFile }, 'serving certificate reloaded');
    } catch (err) {
      this.metrics.certificateLoads.inc({ result: 'error' });
      this.#o.logger.error({ err: errorMessage(err) }, 'cannot load the rotated certificate; the previous one is kept');
    }
  }

  async #review(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: AdmissionContext,
    namespaceOptIn: boolean,
  ): Promise<void> {
    const badRequest = (message: string): void => {
      this.metrics.admissions.inc({ result: 'bad-request' });
      this.#o.logger.warn({ err: message }, 'bad AdmissionReview');
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(`${message}\n`);
    };
    let body: unknown;
    try {
      const bytes = await readBody(req, MAX_REVIEW_BYTES);
      body = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      badRequest(err instanceof SyntaxError ? `the body is not JSON: ${err.message}` : errorMessage(err));
      return;
    }
    const answer = admit(body, ctx, namespaceOptIn);
    if (!answer.ok) {
      badRequest(answer.message);
      return;
    }
    this.metrics.admissions.inc({ result: answer.result });
    const request = (
      body as { request: { namespace?: string; name?: string; object?: { metadata?: { generateName?: string } } } }
    ).request;
    this.#o.logger.info(
      {
        namespace: request.namespace,
        pod: request.name ?? request.object?.metadata?.generateName,
        result: answer.result,
        reason: answer.reason,
      },
      'admission review',
    );
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.review));
  }

  async shutdown(): Promise<void> {
    this.#certWatch?.stop();
    await this.#webhook?.shutdown();
    await this.#admin?.shutdown();
    await this.#reconciler?.stop();
  }
}
