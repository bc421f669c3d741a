import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Object metadata as the fake stores it. */
export interface FakeMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A ConfigMap as the fake stores it (the fields the wire protocol needs). */
export interface FakeConfigMap {
  metadata: FakeMeta;
  data: Record<string, string>;
}

/** A stored object of any served resource (`configmaps`, `pods`). */
interface FakeObject {
  metadata: FakeMeta;
  [field: string]: unknown;
}

type Resource = 'configmaps' | 'pods';
const KINDS: Record<Resource, string> = { configmaps: 'ConfigMap', pods: 'Pod' };

/** One entry of the watch event log. */
interface LoggedEvent {
  rv: number;
  resource: Resource;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: FakeObject;
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
  /**
   * Serve HTTPS with this key and certificate (PEM files), as a cluster's API server does;
   * the kubeconfig then names `ca` as its certificate authority. Default: plain HTTP.
   */
  tls?: { key: string; cert: string; ca: string };
}

/** Which objects a list or watch asks for. */
interface Selection {
  resource: Resource;
  /** `undefined`: every namespace. */
  ns: string | undefined;
  name: string | undefined;
  labels: LabelRequirement[];
}

interface Watcher extends Selection {
  res: ServerResponse;
}

/** One requirement of a label selector: `k=v`, `k==v`, `k!=v`, `k`, `!k`. */
interface LabelRequirement {
  key: string;
  op: '=' | '!=' | 'exists' | '!exists';
  value: string;
}

function parseLabelSelector(text: string): LabelRequirement[] | undefined {
  if (text.trim() === '') return [];
  const out: LabelRequirement[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(!?)([A-Za-z0-9._/-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$/.exec(part);
    if (m === null) return undefined;
    if (m[3] === undefined) out.push({ key: m[2]!, op: m[1] === '!' ? '!exists' : 'exists', value: '' });
    else if (m[1] === '!') return undefined;
    else out.push({ key: m[2]!, op: m[3] === '!=' ? '!=' : '=', value: m[4] ?? '' });
  }
  return out;
}

function labelsMatch(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  return reqs.every((r) => {
    const v = labels?.[r.key];
    if (r.op === 'exists') return v !== undefined;
    if (r.op === '!exists') return v === undefined;
    if (r.op === '=') return v === r.value;
    return v !== r.value;
  });
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * FakeKubeApi is a Kubernetes API server for tests that speaks the real wire protocol
 * over HTTP, for what the daemon's ConfigMap controller and the injector's reconciler use
 * (docs: test/support/README.md):
 *
 * - ConfigMaps and Pods: LIST and WATCH namespaced (`/api/v1/namespaces/{ns}/{resource}`)
 *   or across namespaces (`/api/v1/{resource}`), with `metadata.name=` field selectors
 *   and label selectors; GET one; ConfigMaps also CREATE (409 if it exists), UPDATE
 *   (PUT; 409 on a stale resourceVersion) and DELETE;
 * - a watch is a chunked stream of newline-delimited `{"type","object"}` events after RV
 *   (ADDED/MODIFIED/DELETED, BOOKMARK on request, ERROR 410 on expiry); HTTP 410 when RV
 *   is older than the retained log ({@link compact});
 * - `POST /api/v1/namespaces/{ns}/events`: stores the Event, names it from
 *   `generateName`, answers 201;
 * - bearer-token auth (401 on a wrong token) and per-namespace permission (403).
 *
 * Tests edit objects ({@link upsert}, {@link remove}, {@link upsertPod}), break
 * connections ({@link closeWatches}, {@link expireWatches}, {@link stop}/{@link start} on
 * the same port), inject failures ({@link failNext}) and inspect {@link requests},
 * {@link events} and {@link writes}.
 */
export class FakeKubeApi {
  readonly token: string;
  readonly #namespaces: Set<string> | undefined;
  readonly #tls: FakeKubeApiOptions['tls'];
  readonly #objects = new Map<string, FakeObject>();
  #log: LoggedEvent[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  #oldestRv = 0;
  #rv = 100;
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  readonly #failures: Array<{ what: 'list' | 'watch' | 'event' | 'write'; status: number }> = [];
  readonly requests: SeenRequest[] = [];
  /** Events posted, in order. */
  readonly events: Array<Record<string, unknown>> = [];
  /** ConfigMap writes clients made (create, update, delete), in order: `POST ns/name`, `PUT ns/name`, `DELETE ns/name`. */
  readonly writes: string[] = [];
  #server: http.Server | undefined;
  #port = 0;

  private constructor(opts: FakeKubeApiOptions) {
    this.token = opts.token ?? randomBytes(12).toString('hex');
    this.#namespaces = opts.namespaces === undefined ? undefined : new Set(opts.namespaces);
    this.#tls = opts.tls;
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
    return `${this.#tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.#port}`;
  }

  /** (Re)starts listening, on the previous port if there was one. */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const tls = this.#tls;
    const handle = (req: IncomingMessage, res: ServerResponse): void => this.#handle(req, res);
    const server: http.Server =
      tls === undefined
        ? http.createServer(handle)
        : https.createServer({ key: readFileSync(tls.key), cert: readFileSync(tls.cert) }, handle);
    // With HTTPS too: the TCP socket, before its TLS session.
    server.on('connection', (s: Socket) => {
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

  /**
   * Creates or replaces a ConfigMap's data (and labels, when given); notifies watchers
   * (ADDED or MODIFIED).
   */
  upsert(
    namespace: string,
    name: string,
    data: Record<string, string>,
    labels?: Record<string, string>,
  ): FakeConfigMap {
    const old = this.#objects.get(`configmaps/${namespace}/${name}`);
    const meta = labels ?? old?.metadata.labels;
    return this.#store('configmaps', namespace, name, {
      data: { ...data },
      ...(meta !== undefined ? { labels: meta } : {}),
    }) as unknown as FakeConfigMap;
  }

  /** Deletes a ConfigMap; notifies watchers (DELETED with the last state and a new RV). */
  remove(namespace: string, name: string): void {
    this.#delete('configmaps', namespace, name);
  }

  /** A stored ConfigMap, or undefined. */
  configMap(namespace: string, name: string): FakeConfigMap | undefined {
    return this.#objects.get(`configmaps/${namespace}/${name}`) as unknown as FakeConfigMap | undefined;
  }

  /** Every stored ConfigMap, `namespace/name` → object. */
  configMaps(): Map<string, FakeConfigMap> {
    const out = new Map<string, FakeConfigMap>();
    for (const [k, o] of this.#objects)
      if (k.startsWith('configmaps/')) out.set(k.slice('configmaps/'.length), o as unknown as FakeConfigMap);
    return out;
  }

  /** Creates or replaces a Pod (labels and a one-container spec); notifies watchers. */
  upsertPod(namespace: string, name: string, labels: Record<string, string>): void {
    this.#store('pods', namespace, name, { labels, spec: { containers: [{ name: 'app', image: 'app' }] } });
  }

  /** Deletes a Pod; notifies watchers. */
  removePod(namespace: string, name: string): void {
    this.#delete('pods', namespace, name);
  }

  #store(
    resource: Resource,
    namespace: string,
    name: string,
    fields: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown },
  ): FakeObject {
    const key = `${resource}/${namespace}/${name}`;
    const old = this.#objects.get(key);
    const rv = ++this.#rv;
    const { labels, annotations, ...rest } = fields;
    const obj: FakeObject = {
      ...rest,
      metadata: {
        name,
        namespace,
        uid: old?.metadata.uid ?? randomBytes(8).toString('hex'),
        resourceVersion: String(rv),
        creationTimestamp: old?.metadata.creationTimestamp ?? now(),
        ...(labels !== undefined ? { labels: { ...labels } } : {}),
        ...(annotations !== undefined ? { annotations: { ...annotations } } : {}),
      },
    };
    this.#objects.set(key, obj);
    this.#emit({ rv, resource, type: old === undefined ? 'ADDED' : 'MODIFIED', object: obj });
    return obj;
  }

  #delete(resource: Resource, namespace: string, name: string): FakeObject | undefined {
    const key = `${resource}/${namespace}/${name}`;
    const old = this.#objects.get(key);
    if (old === undefined) return undefined;
    this.#objects.delete(key);
    const rv = ++this.#rv;
    const gone = { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } };
    this.#emit({ rv, resource, type: 'DELETED', object: gone });
    return gone;
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

  /** The next `count` requests of a kind are answered with `status` (a Status body); `write` = create/update/delete. */
  failNext(what: 'list' | 'watch' | 'event' | 'write', statusCode: number, count = 1): void {
    for (let i = 0; i < count; i++) this.#failures.push({ what, status: statusCode });
  }

  /**
   * Writes a kubeconfig for this server to a temp file and returns its path. Plain HTTP
   * needs `insecure-skip-tls-verify` for client-node to accept it; HTTPS names the CA.
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
        this.#tls === undefined ? '    insecure-skip-tls-verify: true' : `    certificate-authority: ${this.#tls.ca}`,
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
    for (const w of this.#watchers) if (w.resource === e.resource && this.#matches(w, e.object)) this.#send(w.res, e);
  }

  #matches(w: Omit<Selection, 'resource'>, obj: FakeObject): boolean {
    return (
      (w.ns === undefined || obj.metadata.namespace === w.ns) &&
      (w.name === undefined || obj.metadata.name === w.name) &&
      labelsMatch(w.labels, obj.metadata.labels)
    );
  }

  #send(res: ServerResponse, e: LoggedEvent): void {
    res.write(
      JSON.stringify({ type: e.type, object: { kind: KINDS[e.resource], apiVersion: 'v1', ...e.object } }) + '\n',
    );
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
    const m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?(configmaps|pods|events)(?:\/([^/]+))?$/.exec(url.pathname);
    if (m === null || (m[1] === undefined && (m[2] === 'events' || m[3] !== undefined))) {
      this.#reply(req, res, url, 404, status(404, 'NotFound', `the server could not find the requested resource`));
      return;
    }
    const ns = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    const resource = m[2]!;
    const name = m[3] === undefined ? undefined : decodeURIComponent(m[3]);
    const allowed = (n: string | undefined): boolean =>
      this.#namespaces === undefined || (n !== undefined && this.#namespaces.has(n));
    if (!allowed(ns)) {
      const scope = ns === undefined ? 'at the cluster scope' : `in the namespace "${ns}"`;
      this.#reply(
        req,
        res,
        url,
        403,
        status(
          403,
          'Forbidden',
          `${resource} is forbidden: User "system:serviceaccount:test:tester" cannot access ${resource} ${scope}`,
        ),
      );
      return;
    }
    if (resource === 'events') {
      if (req.method !== 'POST' || name !== undefined) {
        this.#reply(req, res, url, 405, status(405, 'MethodNotAllowed', 'only POST is served for events'));
        return;
      }
      this.#postEvent(req, res, url, ns!);
      return;
    }
    const r = resource as Resource;
    if (req.method !== 'GET') {
      if (r !== 'configmaps' || ns === undefined || !['POST', 'PUT', 'DELETE'].includes(req.method ?? '')) {
        this.#reply(req, res, url, 405, status(405, 'MethodNotAllowed', `${req.method} is not served for ${r}`));
        return;
      }
      this.#write(req, res, url, ns, name);
      return;
    }
    if (name !== undefined) {
      const obj = this.#objects.get(`${r}/${ns}/${name}`);
      if (obj === undefined) this.#reply(req, res, url, 404, status(404, 'NotFound', `${r} "${name}" not found`));
      else this.#reply(req, res, url, 200, { kind: KINDS[r], apiVersion: 'v1', ...obj });
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
    const labels = parseLabelSelector(url.searchParams.get('labelSelector') ?? '');
    if (labels === undefined) {
      this.#reply(req, res, url, 400, status(400, 'BadRequest', 'unable to parse requirement: label selector'));
      return;
    }
    const sel: Selection = { resource: r, ns, name: only, labels };
    const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const failure = this.#takeFailure(watching ? 'watch' : 'list');
    if (failure !== undefined) {
      const reason = failure === 410 ? 'Expired' : failure === 403 ? 'Forbidden' : 'InternalError';
      this.#reply(req, res, url, failure, status(failure, reason, `injected failure ${failure}`));
      return;
    }
    if (!watching) {
      const items = [...this.#objects.entries()]
        .filter(([k, o]) => k.startsWith(`${r}/`) && this.#matches(sel, o))
        .map(([, o]) => o);
      this.#reply(req, res, url, 200, {
        kind: `${KINDS[r]}List`,
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
    const w: Watcher = { ...sel, res };
    for (const e of this.#log) if (e.rv > from && e.resource === r && this.#matches(w, e.object)) this.#send(res, e);
    this.#watchers.add(w);
    req.on('close', () => this.#watchers.delete(w));
  }

  /** POST (create), PUT (replace) or DELETE of a ConfigMap. */
  #write(req: IncomingMessage, res: ServerResponse, url: URL, ns: string, name: string | undefined): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method!;
      const failure = this.#takeFailure('write');
      if (failure !== undefined) {
        this.#reply(req, res, url, failure, status(failure, 'InternalError', `injected failure ${failure}`));
        return;
      }
      if (method === 'DELETE') {
        const gone = name === undefined ? undefined : this.#delete('configmaps', ns, name);
        if (gone === undefined) {
          this.#reply(req, res, url, 404, status(404, 'NotFound', `configmaps "${name}" not found`));
          return;
        }
        this.writes.push(`DELETE ${ns}/${name}`);
        this.#reply(req, res, url, 200, { kind: 'ConfigMap', apiVersion: 'v1', ...gone });
        return;
      }
      let body: FakeObject;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeObject;
      } catch {
        this.#reply(req, res, url, 400, status(400, 'BadRequest', 'body is not JSON'));
        return;
      }
      const objName = body.metadata?.name;
      if (typeof objName !== 'string' || objName === '' || (method === 'PUT' && objName !== name)) {
        this.#reply(req, res, url, 400, status(400, 'BadRequest', 'metadata.name is missing or differs from the URL'));
        return;
      }
      const old = this.#objects.get(`configmaps/${ns}/${objName}`);
      if (method === 'POST' && (name !== undefined || old !== undefined)) {
        this.#reply(req, res, url, 409, status(409, 'AlreadyExists', `configmaps "${objName}" already exists`));
        return;
      }
      if (method === 'PUT' && old === undefined) {
        this.#reply(req, res, url, 404, status(404, 'NotFound', `configmaps "${objName}" not found`));
        return;
      }
      const rv = body.metadata.resourceVersion;
      if (method === 'PUT' && rv !== undefined && rv !== '' && rv !== old!.metadata.resourceVersion) {
        this.#reply(
          req,
          res,
          url,
          409,
          status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on configmaps "${objName}": the object has been modified`,
          ),
        );
        return;
      }
      const stored = this.#store('configmaps', ns, objName, {
        data: body['data'] ?? {},
        ...(body.metadata.labels !== undefined ? { labels: body.metadata.labels } : {}),
        ...(body.metadata.annotations !== undefined ? { annotations: body.metadata.annotations } : {}),
      });
      this.writes.push(`${method} ${ns}/${objName}`);
      this.#reply(req, res, url, method === 'POST' ? 201 : 200, { kind: 'ConfigMap', apiVersion: 'v1', ...stored });
    });
  }

  #takeFailure(what: 'list' | 'watch' | 'event' | 'write'): number | undefined {
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
