import { createRequire } from 'node:module';
import type * as Dgram from 'node:dgram';
import type * as Dns from 'node:dns/promises';
import type { Clock } from '../../shared/clock.js';
import { asError, DaemonError, errorCode, errorMessage } from '../../shared/errors.js';
import { RateLimitedLog, type Logger } from '../../shared/logger.js';
import type { BackendMetrics } from '../backend.js';
import { SendError } from './stream-sender.js';

const require = createRequire(import.meta.url);

/** One warning per (what, code) pair per window. */
const LOG_WINDOW_MS = 30_000;

/** Settings of a {@link UdpSender}. */
export interface UdpSenderOptions {
  /** Host name or address ('' = 127.0.0.1). */
  host: string;
  port: number;
  /** Names the sender in its log lines (`sepagent`, `statsdaemon`). */
  label: string;
  metrics: Pick<BackendMetrics, 'sendError'>;
  logger: Logger;
  clock: Clock;
}

/**
 * UdpSender sends datagrams to one destination over ONE connected UDP socket, so an ICMP
 * port-unreachable from a missing listener surfaces as ECONNREFUSED and is counted.
 *
 * The destination is resolved when connecting (IPv4 first), lazily on the first use, and
 * again after any socket error other than a refusal or an oversized datagram, so DNS
 * changes and a restarted peer are followed. An ECONNREFUSED on a send reports an earlier
 * datagram's ICMP: it is counted and that send retried once. Errors never escape as
 * events: every one is counted per code through `metrics.sendError` and logged
 * rate-limited.
 */
export class UdpSender {
  readonly #o: UdpSenderOptions;
  readonly #log: RateLimitedLog;
  #socket: Dgram.Socket | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(o: UdpSenderOptions) {
    this.#o = o;
    this.#log = new RateLimitedLog(LOG_WINDOW_MS, () => o.clock.monotonicMs());
  }

  /** `host:port` (IPv6 in brackets) for log lines and error messages. */
  get target(): string {
    const host = this.#host();
    return host.includes(':') ? `[${host}]:${this.#o.port}` : `${host}:${this.#o.port}`;
  }

  /** Whether a socket is connected now (a send would go out without resolving first). */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /**
   * Connects if not connected (one attempt at a time). Rejects when the name does not
   * resolve or the sender is closed; the failure is counted and logged.
   */
  async open(): Promise<void> {
    if (this.#closed) throw new DaemonError('ERR_STATE', `${this.#o.label} sender is closed`);
    if (this.#socket !== undefined) return;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    try {
      await this.#connecting;
    } catch (err) {
      this.#o.metrics.sendError(errorCode(err));
      this.warn('connect', err);
      throw err;
    }
  }

  /**
   * Sends one datagram on the open socket and reports the outcome to `done` (never
   * throws; a failure is counted). Callbacks rather than a promise per datagram keep a
   * flush of many thousands of datagrams cheap.
   */
  send(payload: Buffer | string, done: (err: unknown) => void): void {
    const socket = this.#socket;
    if (socket === undefined) {
      const err = new SendError('ENOTCONN', `${this.#o.label}: not connected to ${this.target}`);
      this.#o.metrics.sendError(err.errno);
      done(err);
      return;
    }
    this.#sendOn(socket, payload, true, done);
  }

  /** Sends datagrams one after the other; rejects with the first failure (what was sent stays sent). */
  async sendAll(payloads: readonly (Buffer | string)[]): Promise<void> {
    for (const p of payloads)
      await new Promise<void>((resolve, reject) =>
        this.send(p, (err) => (err === undefined ? resolve() : reject(asError(err)))),
      );
  }

  /**
   * Tells the sender a send failed: logs it (rate-limited) and drops the socket unless the
   * failure was a refusal or an oversized datagram, so the next use resolves and connects
   * anew.
   */
  failed(err: unknown): void {
    this.warn('send', err);
    const code = errorCode(err);
    if (code !== 'ECONNREFUSED' && code !== 'EMSGSIZE') this.#reset();
  }

  /** Closes the socket; later opens reject. */
  close(): void {
    this.#closed = true;
    this.#reset();
  }

  /** Logs a failure of `what` rate-limited per (what, code). */
  warn(what: string, err: unknown): void {
    const code = errorCode(err);
    this.#log.maybe(`${what}:${code}`, (suppressed) =>
      this.#o.logger.warn(
        { target: this.target, code, err: errorMessage(err), suppressed },
        `${this.#o.label} ${what} failed`,
      ),
    );
  }

  #sendOn(socket: Dgram.Socket, payload: Buffer | string, retry: boolean, done: (err: unknown) => void): void {
    try {
      socket.send(payload, (err) => {
        if (err === null || err === undefined) return done(undefined);
        this.#o.metrics.sendError(errorCode(err));
        if (retry && errorCode(err) === 'ECONNREFUSED') this.#sendOn(socket, payload, false, done);
        else done(err);
      });
    } catch (err) {
      this.#o.metrics.sendError(errorCode(err));
      done(asError(err));
    }
  }

  async #connect(): Promise<void> {
    const dgram = require('node:dgram') as typeof Dgram;
    const { lookup } = require('node:dns/promises') as typeof Dns;
    const { address, family } = await lookup(this.#host(), { order: 'ipv4first' });
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    socket.on('error', (err) => {
      // A connected socket also reports an ICMP port-unreachable on its receive side.
      const code = errorCode(err);
      this.#o.metrics.sendError(code);
      this.warn('socket', err);
      if (code !== 'ECONNREFUSED' && this.#socket === socket) this.#reset();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(this.#o.port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (this.#closed) {
      socket.close();
      throw new DaemonError('ERR_STATE', `${this.#o.label} sender is closed`);
    }
    socket.unref();
    this.#socket = socket;
    this.#o.logger.info({ target: this.target, address }, `${this.#o.label} destination connected`);
  }

  #host(): string {
    return this.#o.host === '' ? '127.0.0.1' : this.#o.host;
  }

  #reset(): void {
    const s = this.#socket;
    this.#socket = undefined;
    if (s !== undefined) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}
