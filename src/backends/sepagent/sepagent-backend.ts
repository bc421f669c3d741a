import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { asError, BackendError, DaemonError, errorCode, errorMessage } from '../../shared/errors.js';
import { RateLimitedLog } from '../../shared/logger.js';
import type { Backend, BackendDeps } from '../backend.js';
import type { SepAgentConfig } from './config.js';
import { encodeSnapshotChunked, GroupScratch, type SepDocument } from './encode.js';
import { BufferPool } from '../shared/buffer-pool.js';
import { runChunked } from '../../shared/cooperative.js';
import { SepMatcher } from './sep-matcher.js';

const LOG_WINDOW_MS = 30_000;

/**
 * SepAgentBackend sends one JSON document per SEP instance per flush to SepAgent over
 * UDP, wire-compatible with the Go reference.
 *
 * It keeps ONE connected UDP socket, so an ICMP port-unreachable from a missing listener
 * surfaces as ECONNREFUSED and is counted. The destination is resolved when connecting
 * (IPv4 first) and again after any socket error, so DNS changes are followed. Send
 * errors never escape: they are counted per code, logged rate-limited, and the next
 * flush tries again.
 */
export class SepAgentBackend implements Backend {
  readonly name: string;
  readonly #cfg: SepAgentConfig;
  readonly #deps: BackendDeps;
  readonly #matcher: SepMatcher;
  readonly #log: RateLimitedLog;
  readonly #buffers: BufferPool;
  readonly #scratch = new GroupScratch();
  #socket: dgram.Socket | undefined;
  #connecting: Promise<dgram.Socket> | undefined;
  #closed = false;

  constructor(cfg: SepAgentConfig, deps: BackendDeps) {
    this.name = deps.name;
    this.#cfg = cfg;
    this.#deps = deps;
    this.#matcher = new SepMatcher(cfg.sepRegexp, cfg.clusterRegexp);
    this.#log = new RateLimitedLog(LOG_WINDOW_MS, () => deps.clock.monotonicMs());
    this.#buffers = new BufferPool(cfg.maxDatagramBytes);
  }

  /** Starts connecting in the background; a slow or failing DNS lookup never delays start-up. */
  async start(): Promise<void> {
    // Not fatal: SepAgent may come up after us. Every flush retries.
    this.#connect().catch((err: unknown) => this.#warn('connect', err));
  }

  /**
   * Encodes the snapshot in time slices and sends each document as soon as it is
   * complete, so a flush of 100,000 series neither blocks receiving nor holds all its
   * datagrams in memory at once.
   *
   * It finishes even past its deadline (`_signal` is not honoured): the work is local
   * encoding and UDP sends, bounded by the series count, and a flush stopped half-way
   * would have sent nothing of what a very large snapshot holds (its series are grouped by
   * SEP before the first document). Meanwhile the flusher holds the next interval back.
   */
  async flush(snapshot: FlushSnapshot, _signal: AbortSignal): Promise<void> {
    const m = this.#deps.metrics;
    const series = snapshot.counters.length + snapshot.timers.length + snapshot.gauges.length + snapshot.sets.length;
    if (series === 0) return;
    this.#matcher.fitTo(series);
    let socket: dgram.Socket | undefined;
    let firstError: unknown;
    try {
      socket = await this.#connect();
    } catch (err) {
      firstError = err;
      m.sendError(errorCode(err));
      this.#warn('connect', err);
    }
    const lost = { send_failed: 0 };
    let sentDocs = 0;
    let sentItems = 0;
    // Sends are tracked with a counter and callbacks rather than a promise per document.
    let inFlight = 0;
    let allSent: (() => void) | undefined;
    const onDocument = (doc: SepDocument): void => {
      if (socket === undefined) {
        lost.send_failed += doc.items;
        doc.release();
      } else {
        inFlight++;
        this.#send(socket, doc.payload, true, (err) => {
          if (err === undefined) {
            sentDocs++;
            sentItems += doc.items;
          } else {
            firstError ??= err;
            m.sendError(errorCode(err));
            lost.send_failed += doc.items;
          }
          doc.release();
          if (--inFlight === 0) allSent?.();
        });
      }
    };
    const { dropped, examples } = await runChunked(
      encodeSnapshotChunked(
        snapshot,
        this.#matcher,
        this.#cfg.maxDatagramBytes,
        onDocument,
        this.#buffers,
        this.#scratch,
      ),
    );
    if (inFlight > 0) await new Promise<void>((resolve) => (allSent = resolve));
    m.sent(sentDocs, sentItems);
    for (const [reason, n] of Object.entries({ ...dropped, ...lost })) {
      if (n === 0) continue;
      m.dropped(reason, n);
      if (reason in dropped) {
        this.#log.maybe(`drop:${reason}`, (suppressed) =>
          this.#deps.logger.warn(
            { reason, items: n, example: examples[reason as keyof typeof examples], suppressed },
            'sepagent items left out',
          ),
        );
      }
    }
    if (firstError !== undefined) {
      if (socket !== undefined) this.#warn('send', firstError);
      const code = errorCode(firstError);
      if (socket !== undefined && code !== 'ECONNREFUSED' && code !== 'EMSGSIZE') this.#reset();
      throw new BackendError(this.name, `send to ${this.#target()} failed: ${errorMessage(firstError)}`, {
        cause: firstError,
      });
    }
  }

  async sendEvent(): Promise<void> {
    // SepAgent has no notion of events; the reference drops them too.
  }

  async shutdown(): Promise<void> {
    this.#closed = true;
    this.#reset();
  }

  /**
   * Sends one datagram and reports the outcome to `done` (never throws). An ECONNREFUSED
   * reports an earlier datagram's ICMP, so it is counted and the send retried once.
   */
  #send(socket: dgram.Socket, payload: Buffer, retry: boolean, done: (err: unknown) => void): void {
    try {
      socket.send(payload, (err) => {
        if (err && retry && errorCode(err) === 'ECONNREFUSED') {
          this.#deps.metrics.sendError('ECONNREFUSED');
          this.#send(socket, payload, false, done);
        } else done(err ?? undefined);
      });
    } catch (err) {
      done(asError(err));
    }
  }

  #connect(): Promise<dgram.Socket> {
    if (this.#closed) return Promise.reject(new DaemonError('ERR_STATE', 'backend is shut down'));
    if (this.#socket !== undefined) return Promise.resolve(this.#socket);
    this.#connecting ??= (async () => {
      const host = this.#cfg.host === '' ? '127.0.0.1' : this.#cfg.host;
      const { address, family } = await lookup(host, { order: 'ipv4first' });
      const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      socket.on('error', (err) => {
        // A connected socket also reports an ICMP port-unreachable on its receive side.
        const code = errorCode(err);
        this.#deps.metrics.sendError(code);
        this.#warn('socket', err);
        if (code !== 'ECONNREFUSED' && this.#socket === socket) this.#reset();
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(this.#cfg.port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      if (this.#closed) {
        socket.close();
        throw new DaemonError('ERR_STATE', 'backend is shut down');
      }
      socket.unref();
      this.#socket = socket;
      this.#deps.logger.info({ target: this.#target(), address }, 'sepagent destination connected');
      return socket;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
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

  #target(): string {
    const host = this.#cfg.host === '' ? '127.0.0.1' : this.#cfg.host;
    return host.includes(':') ? `[${host}]:${this.#cfg.port}` : `${host}:${this.#cfg.port}`;
  }

  #warn(what: string, err: unknown): void {
    const code = errorCode(err);
    this.#log.maybe(`${what}:${code}`, (suppressed) =>
      this.#deps.logger.warn(
        { target: this.#target(), code, err: errorMessage(err), suppressed },
        `sepagent ${what} failed`,
      ),
    );
  }
}
