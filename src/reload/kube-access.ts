import { readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type * as Undici from 'undici';
import { undici } from '../shared/undici.js';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { DaemonError, errorMessage } from '../shared/errors.js';

const require = createRequire(import.meta.url);
const execFileAsync = promisify(execFile);

/**
 * How to reach the API server, as client-node's KubeConfig resolves it (kubeconfig file,
 * KUBECONFIG, ~/.kube/config, or the pod's service account): plain data.
 */
export interface KubeAccess {
  /** The API server's base URL. */
  server: string;
  /** PEM CA, client certificate and key (absent: the system CAs, no client certificate). */
  ca?: string;
  cert?: string;
  key?: string;
  /** False when the kubeconfig says `insecure-skip-tls-verify`. */
  rejectUnauthorized: boolean;
  /** TLS server name, when the kubeconfig sets `tls-server-name`. */
  servername?: string;
  /** Request headers the credentials add (`Authorization`, `Impersonate-User`). */
  headers: Record<string, string>;
  /** A bearer token file read for each request (the pod's rotating service-account token). */
  tokenFile?: string;
  /** The kubeconfig context's namespace. */
  namespace?: string;
}

/**
 * What the short-lived loader process runs: client-node's KubeConfig, loaded from
 * `argv[2]` (or its defaults), reduced to {@link KubeAccess} and printed as JSON. Plain
 * JavaScript, so that it runs the same for the built daemon and under the test loader.
 */
const RESOLVE = `
const text = (b) => (b === undefined || b === null ? undefined : Buffer.from(b).toString('utf8'));
(async () => {
  const k8s = await import(process.argv[1]);
  const kc = new k8s.KubeConfig();
  if (process.argv[2]) kc.loadFromFile(process.argv[2]);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const user = kc.getCurrentUser();
  const opts = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const headers = {};
  for (const [k, v] of Object.entries(opts.headers || {})) headers[k] = String(v);
  if (opts.auth) headers.Authorization = 'Basic ' + Buffer.from(opts.auth).toString('base64');
  const tokenFile = user && user.authProvider && user.authProvider.name === 'tokenFile'
    ? user.authProvider.config.tokenFile : undefined;
  const context = kc.getContextObject(kc.getCurrentContext());
  process.stdout.write(JSON.stringify({ ok: true, access: {
    server: cluster.server,
    ca: text(opts.ca), cert: text(opts.cert), key: text(opts.key),
    rejectUnauthorized: opts.rejectUnauthorized !== false,
    servername: opts.servername,
    headers, tokenFile,
    namespace: context ? context.namespace : undefined,
  } }));
})().catch((e) => process.stdout.write(JSON.stringify({ ok: false, message: String((e && e.message) || e) })));
`;

/**
 * Resolves the API server access with @kubernetes/client-node's KubeConfig in a child
 * process that exits once it has answered. The client's modules cost ~50 MB of heap and
 * code; a worker thread would not give them back (V8 keeps a terminated isolate's pages),
 * a process does, so each pod keeps only the URL, the TLS material and the headers. Rejects
 * with the loader's own message (no kubeconfig, a missing file).
 */
async function resolveKubeAccess(kubeconfigPath: string | undefined): Promise<KubeAccess> {
  const module = pathToFileURL(require.resolve('@kubernetes/client-node')).href;
  let answer: { ok: true; access: KubeAccess } | { ok: false; message: string };
  try {
    const { stdout } = await execFileAsync(process.execPath, ['-e', RESOLVE, '--', module, kubeconfigPath ?? ''], {
      maxBuffer: 4 << 20,
      timeout: 60_000,
      // The loader's own options only (not a profiler or the test loader the daemon runs with).
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    answer = JSON.parse(stdout) as typeof answer;
  } catch (err) {
    // Not execFile's own message, which repeats the loader's source: the exit and its stderr.
    const e = err as { code?: unknown; signal?: unknown; stderr?: unknown };
    const why =
      typeof e.stderr === 'string' && e.stderr.trim() !== ''
        ? e.stderr.trim().split('\n').slice(-3).join(' ')
        : e.code !== undefined || e.signal !== undefined
          ? `the loader process ended (${String(e.signal ?? e.code)})`
          : errorMessage(err);
    throw new DaemonError('ERR_KUBE_API', `cannot load the kubeconfig: ${why}`);
  }
  if (!answer.ok) throw new DaemonError('ERR_KUBE_API', `cannot load the kubeconfig: ${answer.message}`);
  // JSON drops undefined fields: the object has only what was set.
  return answer.access;
}

/** An API server's answer that is not 2xx: its status and body (read by {@link KubeApiError}). */
export class KubeHttpError extends Error {
  readonly code: number;
  readonly body: string;
  constructor(method: string, path: string, code: number, body: string) {
    super(`${method} ${path}: HTTP ${code}`);
    this.name = 'KubeHttpError';
    this.code = code;
    this.body = body;
  }
}

/** How long the API server may take to answer, or pause in the middle of an answer. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A watch asks the server to end it after this long (`timeoutSeconds`), and gives up on a
 * connection silent for that long plus {@link REQUEST_TIMEOUT_MS}: a connection that died
 * without a word (a node's network gone) is noticed, and the source lists again.
 */
const WATCH_SECONDS = 300;

/** The longest line of a watch stream (an event carries one ConfigMap, at most 1 MiB). */
const MAX_WATCH_LINE = 8 << 20;

/** One request's settings. */
interface KubeRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
  /** Longest pause within the answer's body (default {@link REQUEST_TIMEOUT_MS}). */
  bodyTimeoutMs?: number;
}

/**
 * KubeHttp talks JSON to the API server over undici, with the access that
 * {@link resolveKubeAccess} found: the service-account token file is read for each
 * request (the kubelet rotates it), and a 401 resolves the kubeconfig again once (an
 * exec or OIDC credential that expired).
 */
export class KubeHttp {
  #access: KubeAccess;
  readonly #kubeconfigPath: string | undefined;
  #agent: Undici.Agent;

  private constructor(access: KubeAccess, kubeconfigPath: string | undefined) {
    this.#access = access;
    this.#kubeconfigPath = kubeconfigPath;
    this.#agent = KubeHttp.#agentFor(access);
  }

  static async open(kubeconfigPath: string | undefined): Promise<KubeHttp> {
    return new KubeHttp(await resolveKubeAccess(kubeconfigPath), kubeconfigPath);
  }

  get access(): KubeAccess {
    return this.#access;
  }

  static #agentFor(a: KubeAccess): Undici.Agent {
    return new (undici().Agent)({
      connect: {
        ...(a.ca !== undefined ? { ca: a.ca } : {}),
        ...(a.cert !== undefined ? { cert: a.cert } : {}),
        ...(a.key !== undefined ? { key: a.key } : {}),
        ...(a.servername !== undefined ? { servername: a.servername } : {}),
        rejectUnauthorized: a.rejectUnauthorized,
      },
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  #headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...this.#access.headers };
    if (this.#access.tokenFile !== undefined)
      h['Authorization'] = `Bearer ${readFileSync(this.#access.tokenFile, 'utf8').trim()}`;
    if (json) h['content-type'] = 'application/json';
    return h;
  }

  async #send(r: KubeRequest, retried = false): Promise<Undici.Dispatcher.ResponseData> {
    const url = new URL(r.path, this.#access.server.endsWith('/') ? this.#access.server : `${this.#access.server}/`);
    for (const [k, v] of Object.entries(r.query ?? {})) url.searchParams.set(k, v);
    const res = await undici().request(this.#agent, {
      origin: url.origin,
      path: url.pathname + url.search,
      method: r.method,
      headers: this.#headers(r.body !== undefined),
      ...(r.body !== undefined ? { body: JSON.stringify(r.body) } : {}),
      ...(r.signal !== undefined ? { signal: r.signal } : {}),
      ...(r.bodyTimeoutMs !== undefined ? { bodyTimeout: r.bodyTimeoutMs } : {}),
    });
    if (res.statusCode === 401 && !retried && this.#access.tokenFile === undefined) {
      await res.body.dump();
      const fresh = await resolveKubeAccess(this.#kubeconfigPath);
      const old = this.#agent;
      this.#access = fresh;
      this.#agent = KubeHttp.#agentFor(fresh);
      void old.close().catch(() => undefined);
      return this.#send(r, true);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await res.body.text().catch(() => '');
      throw new KubeHttpError(r.method, url.pathname, res.statusCode, text.slice(0, 4096));
    }
    return res;
  }

  /** A JSON request; resolves with the parsed answer. */
  async json<T>(r: KubeRequest): Promise<T> {
    const res = await this.#send(r);
    return (await res.body.json()) as T;
  }

  /**
   * A watch: calls `onEvent` with each event the server streams (one JSON object per
   * line) until the server ends the stream (resolves) or it fails (rejects). Aborting
   * `signal` ends it.
   */
  async watch(
    path: string,
    query: Record<string, string>,
    onEvent: (e: unknown) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await this.#send({
      method: 'GET',
      path,
      query: { ...query, watch: 'true', timeoutSeconds: String(WATCH_SECONDS) },
      signal,
      bodyTimeoutMs: WATCH_SECONDS * 1000 + REQUEST_TIMEOUT_MS,
    });
    const utf8 = new StringDecoder('utf8');
    let pending = '';
    for await (const chunk of res.body) {
      pending += utf8.write(chunk as Buffer);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line !== '') onEvent(JSON.parse(line));
      }
      if (pending.length > MAX_WATCH_LINE)
        throw new KubeHttpError('WATCH', path, 502, `a watch event longer than ${MAX_WATCH_LINE} bytes`);
    }
    pending += utf8.end();
    if (pending.trim() !== '') onEvent(JSON.parse(pending));
  }

  /** Ends every connection. */
  async close(): Promise<void> {
    await this.#agent.close().catch(() => undefined);
  }
}
