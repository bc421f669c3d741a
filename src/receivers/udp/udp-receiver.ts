import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DaemonError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { parseHostPort } from '../../shared/address.js';
import { normaliseSourceAddress, type DatagramSink, type Receiver } from '../receiver.js';

/** Settings of {@link UdpReceiver}. */
export interface UdpReceiverConfig {
  /** Listen address (`metrics-addr`), e.g. `:8125`, `127.0.0.1:8125`, `[::1]:8125`. */
  address: string;
  /** Requested SO_RCVBUF in bytes (`receive-buffer-size`); the kernel caps it at net.core.rmem_max. */
  receiveBufferBytes: number;
}

/** Dependencies of {@link UdpReceiver}. */
export interface UdpReceiverDeps {
  sink: DatagramSink;
  logger: Logger;
  /** Called once bound with the effective receive buffer size. */
  onReceiveBuffer?: (bytes: number) => void;
}

/**
 * UdpReceiver listens for StatsD datagrams (up to 64 KiB, many lines each) on IPv4 or
 * IPv6. An empty host listens on every interface (dual-stack where available).
 */
export class UdpReceiver implements Receiver {
  readonly #cfg: UdpReceiverConfig;
  readonly #deps: UdpReceiverDeps;
  #socket: dgram.Socket | undefined;
  #bound: { host: string; port: number } = { host: '', port: 0 };

  constructor(cfg: UdpReceiverConfig, deps: UdpReceiverDeps) {
    this.#cfg = cfg;
    this.#deps = deps;
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
    try {
      this.#socket = await this.#bind(type, host, hp.port);
    } catch (err) {
      if (hp.host !== '')
        throw new DaemonError('ERR_LISTEN', `cannot listen on udp ${this.#cfg.address}: ${errorMessage(err)}`, {
          cause: err,
        });
      // No IPv6 on this host: fall back to IPv4 on every interface.
      this.#socket = await this.#bind('udp4', '0.0.0.0', hp.port).catch((e: unknown) => {
        throw new DaemonError('ERR_LISTEN', `cannot listen on udp ${this.#cfg.address}: ${errorMessage(e)}`, {
          cause: e,
        });
      });
    }
    const a = this.#socket.address();
    this.#bound = { host: a.address, port: a.port };
    let effective = 0;
    try {
      effective = this.#socket.getRecvBufferSize();
    } catch {
      // not available on this platform
    }
    this.#deps.onReceiveBuffer?.(effective);
    const log = this.#deps.logger;
    log.info(
      {
        address: `${a.address}:${a.port}`,
        receiveBufferBytes: effective,
        requestedBytes: this.#cfg.receiveBufferBytes,
      },
      'udp receiver listening',
    );
    // Linux grants min(request, net.core.rmem_max) and reports twice that (bookkeeping).
    if (effective > 0 && effective < 2 * this.#cfg.receiveBufferBytes) {
      log.warn(
        { requestedBytes: this.#cfg.receiveBufferBytes, effectiveBytes: effective },
        'udp receive buffer smaller than requested; raise net.core.rmem_max (see docs/performance.md)',
      );
    }
  }

  #bind(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({
        type,
        ipv6Only: false,
        recvBufferSize: this.#cfg.receiveBufferBytes,
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
        resolve(socket);
      });
    });
  }

  address(): { host: string; port: number } {
    return this.#bound;
  }

  async shutdown(): Promise<void> {
    const s = this.#socket;
    this.#socket = undefined;
    if (s === undefined) return;
    await new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
