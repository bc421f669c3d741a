import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DaemonError, errorMessage } from '../../shared/errors.js';
import { parseHostPort } from '../../shared/address.js';
import { normaliseSourceAddress, type Receiver, type ReceiverDeps } from '../receiver.js';
import { checkReceiveBuffer, grantedReceiveBuffer } from '../receive-buffer.js';
import { loadBatchModule, type BatchModule, type BatchSocket } from './native-batch.js';
import { udpKernelDrops } from './kernel-drops.js';

/**
 * How datagrams are read (`udp-receiver`): `batch` = recvmmsg(2) in batches through the
 * native module, `dgram` = node:dgram, `auto` = batch when the module loads.
 */
export type UdpReceiverMode = 'auto' | 'batch' | 'dgram';

/** Bytes per datagram slot of the batch receiver: more than any UDP payload (65,527). */
const SLOT_BYTES = 65536;
/** Datagrams per recvmmsg(2) call. */
const BATCH = 64;

/** A bound socket of either kind. */
interface BoundSocket {
  readonly kind: 'batch' | 'dgram';
  readonly port: number;
  readonly host: string;
  readonly receiveBufferBytes: number;
  close(): Promise<void>;
}

/** Settings of {@link UdpReceiver}. */
export interface UdpReceiverConfig {
  /** Listen address (`metrics-addr`), e.g. `:8125`, `127.0.0.1:8125`, `[::1]:8125`. */
  address: string;
  /** Requested SO_RCVBUF in bytes (`receive-buffer-size`); the kernel caps it at net.core.rmem_max. */
  receiveBufferBytes: number;
  /** `udp-receiver` (default `auto`). */
  mode?: UdpReceiverMode;
}

/** How a {@link UdpReceiver} binds, beside its settings. */
export interface UdpBindOptions {
  /**
   * SO_REUSEPORT: each ingest worker reads its own socket on the same port, and the
   * kernel spreads senders (by address and port) over them.
   */
  reusePort?: boolean;
}

/**
 * UdpReceiver listens for StatsD datagrams (up to 64 KiB, many lines each) on IPv4 or
 * IPv6. An empty host listens on every interface (dual-stack where available).
 *
 * On Linux it reads with recvmmsg(2), up to 64 datagrams per system call and per call
 * into JavaScript, from one reused buffer (native/udp_batch.c); node:dgram, which makes
 * one callback and one Buffer per datagram, is the fallback. One-metric datagrams (Envoy's
 * default) are where this matters: dgram tops out well below what the ingest path takes.
 */
export class UdpReceiver implements Receiver {
  readonly #cfg: UdpReceiverConfig;
  readonly #deps: ReceiverDeps;
  readonly #reusePort: boolean;
  #socket: BoundSocket | undefined;
  #bound: { host: string; port: number } = { host: '', port: 0 };

  constructor(cfg: UdpReceiverConfig, deps: ReceiverDeps, bind: UdpBindOptions = {}) {
    this.#cfg = cfg;
    this.#deps = deps;
    this.#reusePort = bind.reusePort === true;
  }

  async start(): Promise<void> {
    const hp = parseHostPort(this.#cfg.address);
    if (typeof hp === 'string') throw new DaemonError('ERR_LISTEN', `metrics-addr: ${hp}`);
    let host = hp.host;
    let type: 'udp4' | 'udp6';
    if (host === '') {
      host = '::';
      type = 'udp6';
    } else if (isIP(host) !== 0) {
      type = isIP(host) === 6 ? 'udp6' : 'udp4';
    } else {
      const r = await lookup(host, { order: 'ipv4first' });
      host = r.address;
      type = r.family === 6 ? 'udp6' : 'udp4';
    }
    const native = this.#native();
    // inet_pton(3) takes no IPv6 zone index ("fe80::1%eth0"): such hosts use node:dgram.
    const bind = async (t: 'udp4' | 'udp6', h: string): Promise<BoundSocket> =>
      native !== undefined && !h.includes('%')
        ? this.#bindBatch(native, t, h, hp.port)
        : this.#bindDgram(t, h, hp.port);
    try {
      this.#socket = await bind(type, host);
    } catch (err) {
      if (hp.host !== '')
        throw new DaemonError('ERR_LISTEN', `cannot listen on udp ${this.#cfg.address}: ${errorMessage(err)}`, {
          cause: err,
        });
      // No IPv6 on this host: fall back to IPv4 on every interface.
      this.#socket = await bind('udp4', '0.0.0.0').catch((e: unknown) => {
        throw new DaemonError('ERR_LISTEN', `cannot listen on udp ${this.#cfg.address}: ${errorMessage(e)}`, {
          cause: e,
        });
      });
    }
    const sock = this.#socket;
    this.#bound = { host: sock.host, port: sock.port };
    const effective = sock.receiveBufferBytes;
    this.#deps.onReceiveBuffer?.(effective);
    const log = this.#deps.logger;
    log.info(
      {
        address: sock.host.includes(':') ? `[${sock.host}]:${sock.port}` : `${sock.host}:${sock.port}`,
        reader: sock.kind === 'batch' ? 'recvmmsg' : 'dgram',
        requestedBytes: this.#cfg.receiveBufferBytes,
        grantedBytes: grantedReceiveBuffer(effective),
      },
      'udp receiver listening',
    );
    checkReceiveBuffer(log, 'udp', this.#cfg.receiveBufferBytes, effective);
  }

  /** The native module when the mode asks for it and it loads; throws for `batch` without it. */
  #native(): BatchModule | undefined {
    const mode = this.#cfg.mode ?? 'auto';
    if (mode === 'dgram') return undefined;
    const loaded = loadBatchModule();
    if ('module' in loaded) return loaded.module;
    if (mode === 'batch')
      throw new DaemonError('ERR_LISTEN', `udp-receiver "batch" is not available: ${loaded.reason}`);
    this.#deps.logger.info({ reason: loaded.reason }, 'udp receiver: batch reading unavailable, using node:dgram');
    return undefined;
  }

  #bindBatch(native: BatchModule, type: 'udp4' | 'udp6', host: string, port: number): BoundSocket {
    const sink = this.#deps.sink;
    const logger = this.#deps.logger;
    const truncated = this.#deps.stats.truncatedDatagrams;
    let lastRaw = '';
    let lastHost = '';
    let socket: BatchSocket | undefined;
    const onBatch = (count: number, hosts: readonly string[]): void => {
      if (socket === undefined) return;
      const data = socket.data;
      const meta = socket.meta;
      for (let i = 0; i < count; i++) {
        if ((meta[2 * i + 1]! & 1) !== 0) {
          truncated.udp++;
          continue;
        }
        const raw = hosts[meta[2 * i + 1]! >> 1] ?? '';
        if (raw !== lastRaw) {
          lastRaw = raw;
          lastHost = normaliseSourceAddress(raw);
        }
        const start = i * SLOT_BYTES;
        try {
          sink.ingestDatagramAt(data, start, start + meta[2 * i]!, lastHost);
        } catch (err) {
          // The sink is total by contract; this guard only keeps a bug from killing intake.
          logger.error({ err: errorMessage(err) }, 'internal error while ingesting a datagram');
        }
      }
    };
    socket = native.open(
      host,
      port,
      type === 'udp6',
      this.#cfg.receiveBufferBytes,
      SLOT_BYTES,
      BATCH,
      onBatch,
      this.#reusePort,
    );
    const opened = socket;
    return {
      kind: 'batch',
      host,
      port: opened.port,
      receiveBufferBytes: opened.receiveBufferBytes,
      close: () =>
        new Promise<void>((done) => {
          socket = undefined;
          native.close(opened, done);
        }),
    };
  }

  #bindDgram(type: 'udp4' | 'udp6', host: string, port: number): Promise<BoundSocket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({
        type,
        ipv6Only: false,
        recvBufferSize: this.#cfg.receiveBufferBytes,
        reusePort: this.#reusePort,
      });
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.on('message', (msg, rinfo) => {
        try {
          this.#deps.sink.ingestDatagram(msg, normaliseSourceAddress(rinfo.address));
        } catch (err) {
          // The sink is total by contract; this guard only keeps a bug from killing intake.
          this.#deps.logger.error({ err: errorMessage(err) }, 'internal error while ingesting a datagram');
        }
      });
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', (err) => this.#deps.logger.error({ err: errorMessage(err) }, 'udp receiver socket error'));
        let receiveBufferBytes = 0;
        try {
          receiveBufferBytes = socket.getRecvBufferSize();
        } catch {
          // not available on this platform
        }
        const a = socket.address();
        resolve({
          kind: 'dgram',
          host: a.address,
          port: a.port,
          receiveBufferBytes,
          close: () =>
            new Promise<void>((done) => {
              try {
                socket.close(() => done());
              } catch {
                done();
              }
            }),
        });
      });
    });
  }

  address(): { host: string; port: number } {
    return this.#bound;
  }

  /** Datagrams the kernel dropped on this socket (full receive buffer), where Linux tells. */
  kernelDrops(): number | undefined {
    return this.#socket === undefined ? undefined : udpKernelDrops(this.#bound.port);
  }

  async shutdown(): Promise<void> {
    const s = this.#socket;
    this.#socket = undefined;
    await s?.close();
  }
}
