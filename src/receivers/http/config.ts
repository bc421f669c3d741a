import type { KeyReader } from '../../shared/config-key.js';
import { isPlainObject, join } from '../../shared/check.js';
import type { ForwardedLimits } from '../../wire/gostatsd.js';

/** One `[http.<name>]` server. */
export interface HttpServerConfig {
  /** The section name (`main` for `[http.main]`). */
  name: string;
  /** `address` (default `127.0.0.1:8080`, as gostatsd). */
  address: string;
  /** `enable-healthcheck`: `/healthcheck` and `/deepcheck` (default true). */
  healthcheck: boolean;
  /** `enable-ingestion`: `POST /v2/raw` and `/v2/event` (default false). */
  ingestion: boolean;
  /** `enable-expvar`: `GET /expvar`, process statistics as JSON (default false). */
  expvar: boolean;
  /** `max-body-size`: largest request body as sent, in bytes (default 8 MiB). */
  maxBodyBytes: number;
  /** `max-message-size`: largest body once inflated, in bytes (default 64 MiB). */
  maxMessageBytes: number;
  /** `read-timeout`: longest time to receive a whole request, in ms (default 10 s). */
  readTimeoutMs: number;
  /**
   * `max-buffered-size`: bytes the server's requests in flight may hold at once, received
   * and inflated (default 128 MiB); past it a request is answered 503 with `Retry-After`.
   */
  maxBufferedBytes: number;
  /** `max-series-per-request`, `max-tags-per-series`, `max-values-per-series`: what one `/v2/raw` body may hold. */
  limits: ForwardedLimits;
}

/** Settings of the `http` receiver: the servers of `http-servers`, in order. */
export interface HttpReceiverConfig {
  /** `http-servers`. */
  names: string[];
  /** Their `[http.<name>]` sections. */
  servers: HttpServerConfig[];
}

export const SERVER_KEYS = [
  'address',
  'enable-healthcheck',
  'enable-ingestion',
  'enable-expvar',
  'enable-prof',
  'max-body-size',
  'max-message-size',
  'read-timeout',
  'max-buffered-size',
  'max-series-per-request',
  'max-tags-per-series',
  'max-values-per-series',
] as const;

/**
 * Reads `http-servers` and the `[http.<name>]` sections (gostatsd's keys plus the limits
 * of this daemon). A listed server without a section takes the defaults; a section not
 * listed is reported; a server with nothing enabled is an error. Undefined when no
 * server is listed.
 */
export function validateHttpServers(read: KeyReader): HttpReceiverConfig | undefined {
  const c = read.c;
  const names = read.list('http-servers');
  const sections = c.section(read.raw('http'), 'http') ?? {};
  for (const [name, body] of Object.entries(sections)) {
    if (!names.includes(name))
      c.warn(join('http', name), `server "${name}" is not listed in "http-servers"; it is not started`);
    else if (!isPlainObject(body)) c.error(join('http', name), 'must be a section with address, enable-ingestion, …');
  }
  const servers: HttpServerConfig[] = [];
  names.forEach((name, i) => {
    const path = join('http', name);
    if (names.indexOf(name) !== i) {
      c.error('http-servers', `server "${name}" is listed twice`);
      return;
    }
    const raw = sections[name];
    const s = isPlainObject(raw) ? raw : {};
    c.unknownKeys(s, SERVER_KEYS, path);
    const server: HttpServerConfig = {
      name,
      address: c.address(s['address'], `${path}.address`, '127.0.0.1:8080', false),
      healthcheck: c.bool(s['enable-healthcheck'], `${path}.enable-healthcheck`, true),
      ingestion: c.bool(s['enable-ingestion'], `${path}.enable-ingestion`, false),
      expvar: c.bool(s['enable-expvar'], `${path}.enable-expvar`, false),
      maxBodyBytes: c.bytes(s['max-body-size'], `${path}.max-body-size`, 8 * 1024 ** 2, 1024, 1024 ** 3),
      maxMessageBytes: c.bytes(s['max-message-size'], `${path}.max-message-size`, 64 * 1024 ** 2, 1024, 4 * 1024 ** 3),
      readTimeoutMs: c.duration(s['read-timeout'], `${path}.read-timeout`, 10_000, 100),
      maxBufferedBytes: c.bytes(
        s['max-buffered-size'],
        `${path}.max-buffered-size`,
        128 * 1024 ** 2,
        1024,
        64 * 1024 ** 3,
      ),
      limits: {
        maxSeries: c.int(s['max-series-per-request'], `${path}.max-series-per-request`, 200_000, 1, 100_000_000),
        maxTags: c.int(s['max-tags-per-series'], `${path}.max-tags-per-series`, 256, 0, 100_000),
        maxValues: c.int(s['max-values-per-series'], `${path}.max-values-per-series`, 1_000_000, 1, 100_000_000),
      },
    };
    if (c.bool(s['enable-prof'], `${path}.enable-prof`, false))
      c.warn(`${path}.enable-prof`, "Go's profiling endpoints do not exist here; use node --inspect or --cpu-prof");
    if (!server.healthcheck && !server.ingestion && !server.expvar)
      c.error(path, `server "${name}" has nothing enabled (enable-healthcheck, enable-ingestion or enable-expvar)`);
    if (server.maxMessageBytes < server.maxBodyBytes)
      c.error(`${path}.max-message-size`, 'must be at least max-body-size');
    if (server.maxBufferedBytes < server.maxMessageBytes)
      c.error(`${path}.max-buffered-size`, 'must be at least max-message-size (one request must fit)');
    servers.push(server);
  });
  const addresses = new Map<string, string>();
  for (const s of servers) {
    const other = addresses.get(s.address);
    if (other !== undefined && !s.address.endsWith(':0'))
      c.error(join('http', s.name), `servers "${other}" and "${s.name}" both listen on ${s.address}`);
    addresses.set(s.address, s.name);
  }
  return names.length === 0 ? undefined : { names, servers };
}
