import { createRequire } from 'node:module';
import type * as Net from 'node:net';
import type * as Tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Clock } from '../../shared/clock.js';
import { DaemonError } from '../../shared/errors.js';

const require = createRequire(import.meta.url);

/** TLS settings of a {@link StreamSender} (PEM files; '' = none). */
export interface StreamTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Settings of {@link StreamSender}. */
export interface StreamSenderOptions {
  host: string;
  port: number;
  /** Longest wait for the connection (and TLS handshake). */
  dialTimeoutMs: number;
  /** Longest wait for a write to reach the kernel. */
  writeTimeoutMs: number;
  /** TLS instead of plain TCP. */
  tls?: StreamTls;
  clock: Clock;
}

/** A failed send: `code` is errno-style (`ECONNREFUSED`, `ETIMEDOUT`, …) for counting. */
export class SendError extends DaemonError {
  /** Why, errno-style (`ECONNREFUSED`, `ETIMEDOUT`): the `code` label of backend_send_errors_total. */
  readonly errno: string;
  constructor(errno: string, message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND_SEND', message, options);
    this.name = 'SendError';
    this.errno = errno;
  }
}

/**
 * StreamSender writes to one TCP (or TLS) peer over a connection it keeps: connected on
 * the first send, re-connected on the next send after the peer closed it or a send
 * failed. A send resolves once the data is with the kernel; it fails (and drops the
 * connection) when the dial or the write takes longer than allowed, so a stuck peer never
 * holds a sender for longer than its timeouts.
 */
export class StreamSender {
  readonly #o: StreamSenderOptions;
  #socket: Net.Socket | undefined;

  constructor(o: StreamSenderOptions) {
    this.#o = o;
  }

  /** Whether a connection is open now. */
  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  async send(data: string | Uint8Array, signal: AbortSignal): Promise<void> {
    const s = await this.#connect(signal);
    await this.#bounded(
      new Promise<void>((resolve, reject) => s.write(data, (err) => (err ? reject(err) : resolve()))),
      this.#o.writeTimeoutMs,
      'write',
      s,
      signal,
    );
  }

  async #connect(signal: AbortSignal): Promise<Net.Socket> {
    const held = this.#socket;
    if (held !== undefined && !held.destroyed && held.writable) return held;
    const o = this.#o;
    let s: Net.Socket;
    if (o.tls === undefined) {
      const net = require('node:net') as typeof Net;
      s = net.connect({ host: o.host, port: o.port });
    } else {
      const tls = require('node:tls') as typeof Tls;
      const file = (f: string): Buffer | undefined => (f === '' ? undefined : readFileSync(f));
      s = tls.connect({
        host: o.host,
        port: o.port,
        // SNI takes a host name only (RFC 6066); an IP address is verified without it.
        ...((require('node:net') as typeof Net).isIP(o.host) === 0 ? { servername: o.host } : {}),
        minVersion: 'TLSv1.2',
        ca: file(o.tls.caFile),
        cert: file(o.tls.certFile),
        key: file(o.tls.keyFile),
      });
    }
    s.on('error', () => undefined); // reported by the pending operation, if any
    // A peer that closes (a restart) is noticed before the next send writes into the void.
    s.on('end', () => s.destroy());
    s.on('close', () => {
      if (this.#socket === s) this.#socket = undefined;
    });
    s.resume(); // nothing is expected back; whatever comes is discarded
    const ready = new Promise<void>((resolve, reject) => {
      s.once(o.tls === undefined ? 'connect' : 'secureConnect', () => resolve());
      s.once('error', reject);
      s.once('close', () => reject(new SendError('ECONNRESET', 'connection closed while connecting')));
    });
    await this.#bounded(ready, o.dialTimeoutMs, 'connect', s, signal);
    s.setNoDelay(true);
    this.#socket = s;
    return s;
  }

  /** `p`, failing with ETIMEDOUT after `ms` (or when `signal` aborts); on failure the socket is dropped. */
  async #bounded(p: Promise<void>, ms: number, what: string, s: Net.Socket, signal: AbortSignal): Promise<void> {
    let cancel = (): void => undefined;
    const timeout = new Promise<never>((_, reject) => {
      const fail = (): void => reject(new SendError('ETIMEDOUT', `${what} took longer than ${ms} ms`));
      const stop = this.#o.clock.after(ms, fail);
      const onAbort = (): void => reject(new SendError('ETIMEDOUT', `${what} abandoned at the flush deadline`));
      signal.addEventListener('abort', onAbort, { once: true });
      cancel = () => {
        stop();
        signal.removeEventListener('abort', onAbort);
      };
    });
    try {
      await Promise.race([p, timeout]);
    } catch (err) {
      s.destroy();
      if (err instanceof SendError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new SendError(e.code ?? 'EIO', e.message, { cause: err });
    } finally {
      cancel();
    }
  }

  close(): void {
    this.#socket?.end();
    this.#socket = undefined;
  }
}
