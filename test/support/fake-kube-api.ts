import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A ConfigMap as the fake stores it (the fields the wire protocol needs). */
export interface FakeConfigMap {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; creationTimestamp: string };
  data: Record<string, string>;
}

/** One entry of the watch event log. */
interface LoggedEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: FakeConfigMap;
}

/** A request as the fake saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
}

/** Options of {@link FakeKubeApi}. */
export interface FakeKubeApiOptions {
  /** The bearer token that is accepted (default: random). Others get 401. */
  token?: string;
  /** Namespaces the token may read and post Events in (default: every namespace). Others get 403. */
  namespaces?: string[];
}

interface Watcher {
  res: ServerResponse;
  ns: string;
  name: string | undefined;
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/**
 * FakeKubeApi is a Kubernetes API server for tests that speaks the real wire protocol
 * over HTTP, for what the daemon's ConfigMap controller uses (docs: test/support/README.md):
 *
 * - `GET /api/v1/namespaces/{ns}/configmaps[?fieldSelector=metadata.name=N]`: a
 *   ConfigMapList whose `metadata.resourceVersion` is the store's current one (items
 *   without kind/apiVersion, as a real server sends them);
 * - `GET /api/v1/namespaces/{ns}/configmaps/{name}`: one object, or a 404 Status;
 * - `...?watch=true&resourceVersion=RV`: a chunked stream of newline-delimited
 *   `{"type","object"}` events after RV (ADDED/MODIFIED/DELETED, BOOKMARK on request,
 *   ERROR 410 on expiry), filtered by the field selector; HTTP 410 when RV is older than
 *   the retained log ({@link compact});
 * - `POST /api/v1/namespaces/{ns}/events`: stores the Event, names it from
 *   `generateName`, answers 201;
 * - bearer-token auth (401 on a wrong token) and per-namespace permission (403).
 *
 * Tests edit objects ({@link upsert}, {@link remove}), break connections
 * ({@link closeWatches}, {@link expireWatches}, {@link stop}/{@link start} on the same
 * port), inject failures ({@link failNext}) and inspect {@link requests} and {@link events}.
 */
export class FakeKubeApi {
  readonly token: string;
  readonly #namespaces: Set<string> | undefined;
  readonly #objects = new Map<string, FakeConfigMap>();
  #log: LoggedEvent[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  #oldestRv = 0;
  #rv = 100;
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  readonly #failures: Array<{ what: 'list' | 'watch' | 'event'; status: number }> = [];
  readonly requests: SeenRequest[] = [];
  /** Events posted, in order. */
  readonly events: Array<Record<string, unknown>> = [];
  #server: http.Server | undefined;
  #port = 0;

  private constructor(opts: FakeKubeApiOptions) {
    this.token = opts.token ?? randomBytes(12).toString('hex');
    this.#namespaces = opts.namespaces === undefined ? undefined : new Set(opts.namespaces);
  }

  /** Starts a fake on 127.0.0.1 and an ephemeral port. */
  static async start(opts: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const f = new FakeKubeApi(opts);
    await f.start();
    return f;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** (Re)starts listening, on the previous port if there was one. */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = http.createServer((req, res) => this.#handle(req, res));
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  /** Stops listening and drops every connection (the API server "goes away"). */
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s === undefined) return;
    this.#watchers.clear();
    for (const sock of this.#sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Current resourceVersion of the store. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Open watch streams. */
  get watchCount(): number {
    return this.#watchers.size;
  }

  /** Creates or replaces a ConfigMap's data; notifies watchers (ADDED or MODIFIED). */
  upsert(namespace: string, name: string, data: Record<string, string>): FakeConfigMap {
    const key = `${namespace}/${name}`;
    const old = this.#objects.get(key);
    const rv = ++this.#rv;
    const obj: FakeConfigMap = {
      metadata: {
        name,
        namespace,
        uid: old?.metadata.uid ?? randomBytes(8).toString('hex'),
        resourceVersion: String(rv),
        creationTimestamp: old?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      data: { ...data },
    };
    this.#objects.set(key, obj);
    this.#emit({ rv, type: old === undefined ? 'ADDED' : 'MODIFIED', object: obj });
    return obj;
  }

  /** Deletes a ConfigMap; notifies watchers (DELETED with the last state and a new RV). */
  remove(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const old = this.#objects.get(key);
    if (old === undefined) return;
    this.#objects.delete(key);
    const rv = ++this.#rv;
    this.#emit({ rv, type: 'DELETED', object: { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } } });
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watcher. */
  bookmark(): void {
    const line = JSON.stringify({
      type: 'BOOKMARK',
      object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: String(this.#rv) } },
    });
    for (const w of this.#watchers) w.res.write(line + '\n');
  }

  /**
   * Forgets the event log (as etcd compaction does): watches resuming from an older
   * resourceVersion get HTTP 410 and must relist.
   */
  compact(): void {
    this.#log = [];
    this.#oldestRv = this.#rv;
  }

  /** Ends every watch with an in-stream ERROR 410 ("too old resource version"), then compacts. */
  expireWatches(): void {
    const line = JSON.stringify({
      type: 'ERROR',
      object: status(410, 'Expired', `too old resource version: ${this.#oldestRv} (${this.#rv})`),
    });
    for (const w of this.#watchers) {
      w.res.write(line + '\n');
      w.res.end();
    }
    this.#watchers.clear();
    this.compact();
  }

  /** Ends every watch normally (a server-side timeout); clients resume from their RV. */
  closeWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  /** The next `count` requests of a kind are answered with `status` (a Status body). */
  failNext(what: 'list' | 'watch' | 'event', statusCode: number, count = 1): void {
    for (let i = 0; i < count; i++) this.#failures.push({ what, status: statusCode });
  }

  /**
   * Writes a kubeconfig for this server to a temp file and returns its path. Plain HTTP
   * needs `insecure-skip-tls-verify` for client-node to accept it.
   */
  writeKubeconfig(opts: { token?: string; namespace?: string } = {}): string {
    const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
    const path = join(dir, 'kubeconfig');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${this.url}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: tester',
        '  user:',
        `    token: ${opts.token ?? this.token}`,
        'contexts:',
        '- name: fake',
        '  context:',
        '    cluster: fake',
        '    user: tester',
        `    namespace: ${opts.namespace ?? 'default'}`,
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return path;
  }

  /** Events posted with a given reason. */
  eventsWithReason(reason: string): Array<Record<string, unknown>> {
    return this.events.filter((e) => e['reason'] === reason);
  }

  #emit(e: LoggedEvent): void {
    this.#log.push(e);
    for (const w of this.#watchers) if (this.#matches(w, e.object)) this.#send(w.res, e);
  }

  #matches(w: { ns: string; name: string | undefined }, obj: FakeConfigMap): boolean {
    return obj.metadata.namespace === w.ns && (w.name === undefined || obj.metadata.name === w.name);
  }

  #send(res: ServerResponse, e: LoggedEvent): void {
    res.write(JSON.stringify({ type: e.type, object: { kind: 'ConfigMap', apiVersion: 'v1', ...e.object } }) + '\n');
  }

  #reply(req: IncomingMessage, res: ServerResponse, url: URL, code: number, body: object): void {
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, status: code });
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.#reply(req, res, url, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/(configmaps|events)(?:\/([^/]+))?$/.exec(url.pathname);
    if (m === null) {
      this.#reply(req, res, url, 404, status(404, 'NotFound', `the server could not find the requested resource`));
      return;
    }
    const ns = decodeURIComponent(m[1]!);
    const resource = m[2]!;
    const name = m[3] === undefined ? undefined : decodeURIComponent(m[3]);
    if (this.#namespaces !== undefined && !this.#namespaces.has(ns)) {
      this.#reply(
        req,
        res,
        url,
        403,
        status(
          403,
          'Forbidden',
          `${resource} is forbidden: User "system:serviceaccount:test:tester" cannot access ${resource} in the namespace "${ns}"`,
        ),
      );
      return;
    }
    if (resource === 'events') {
      if (req.method !== 'POST' || name !== undefined) {
        this.#reply(req, res, url, 405, status(405, 'MethodNotAllowed', 'only POST is served for events'));
        return;
      }
      this.#postEvent(req, res, url, ns);
      return;
    }
    if (req.method !== 'GET') {
      this.#reply(req, res, url, 405, status(405, 'MethodNotAllowed', 'only GET is served for configmaps'));
      return;
    }
    if (name !== undefined) {
      const obj = this.#objects.get(`${ns}/${name}`);
      if (obj === undefined) this.#reply(req, res, url, 404, status(404, 'NotFound', `configmaps "${name}" not found`));
      else this.#reply(req, res, url, 200, { kind: 'ConfigMap', apiVersion: 'v1', ...obj });
      return;
    }
    const selector = url.searchParams.get('fieldSelector') ?? '';
    let only: string | undefined;
    if (selector !== '') {
      const sm = /^metadata\.name=(.+)$/.exec(selector);
      if (sm === null) {
        this.#reply(req, res, url, 400, status(400, 'BadRequest', `unsupported field selector "${selector}"`));
        return;
      }
      only = sm[1];
    }
    const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const failure = this.#takeFailure(watching ? 'watch' : 'list');
    if (failure !== undefined) {
      const reason = failure === 410 ? 'Expired' : failure === 403 ? 'Forbidden' : 'InternalError';
      this.#reply(req, res, url, failure, status(failure, reason, `injected failure ${failure}`));
      return;
    }
    if (!watching) {
      const items = [...this.#objects.values()].filter((o) => this.#matches({ ns, name: only }, o));
      this.#reply(req, res, url, 200, {
        kind: 'ConfigMapList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.#rv) },
        items,
      });
      return;
    }
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (Number.isFinite(from) && from > 0 && from < this.#oldestRv) {
      this.#reply(req, res, url, 410, status(410, 'Expired', `too old resource version: ${from} (${this.#rv})`));
      return;
    }
    this.requests.push({ method: 'GET', path: url.pathname, query: url.searchParams, status: 200 });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { res, ns, name: only };
    for (const e of this.#log) if (e.rv > from && this.#matches(w, e.object)) this.#send(res, e);
    this.#watchers.add(w);
    req.on('close', () => this.#watchers.delete(w));
  }

  #takeFailure(what: 'list' | 'watch' | 'event'): number | undefined {
    const i = this.#failures.findIndex((f) => f.what === what);
    if (i < 0) return undefined;
    return this.#failures.splice(i, 1)[0]!.status;
  }

  #postEvent(req: IncomingMessage, res: ServerResponse, url: URL, ns: string): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const failure = this.#takeFailure('event');
      if (failure !== undefined) {
        this.#reply(req, res, url, failure, status(failure, 'InternalError', `injected failure ${failure}`));
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        this.#reply(req, res, url, 400, status(400, 'BadRequest', 'body is not JSON'));
        return;
      }
      const meta = (body['metadata'] ?? {}) as Record<string, unknown>;
      const name =
        typeof meta['name'] === 'string'
          ? meta['name']
          : `${typeof meta['generateName'] === 'string' ? meta['generateName'] : 'event.'}${randomBytes(4).toString('hex')}`;
      const stored = {
        ...body,
        kind: 'Event',
        apiVersion: 'v1',
        metadata: { ...meta, name, namespace: ns, resourceVersion: String(++this.#rv) },
      };
      this.events.push(stored);
      this.#reply(req, res, url, 201, stored);
    });
  }
}
