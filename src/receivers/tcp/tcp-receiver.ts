import net from 'node:net';
import { parseHostPort } from '../../shared/address.js';
import { DaemonError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { IngestStats } from '../../ingest/ingest-stats.js';
import { normaliseSourceAddress, type DatagramSink, type Receiver } from '../receiver.js';
import { LineSplitter } from './line-splitter.js';

/** Settings of {@link TcpReceiver}. */
export interface TcpReceiverConfig {
  /** Listen address (`tcp-addr`). */
  address: string;
  /** Longest accepted line in bytes (`tcp-max-line-length`); longer lines are counted and dropped. */
  maxLineBytes: number;
}

/** Dependencies of {@link TcpReceiver}. */
export interface TcpReceiverDeps {
  sink: DatagramSink;
  stats: IngestStats;
  logger: Logger;
}

/**
 * TcpReceiver accepts newline-delimited StatsD over TCP (Envoy's statsd sink can use
 * TCP). Each connection is framed by a LineSplitter; a connection error closes only that
 * connection.
 */
export class TcpReceiver implements Receiver {
  readonly #cfg: TcpReceiverConfig;
  readonly #deps: TcpReceiverDeps;
  readonly #sockets = new Map<net.Socket, LineSplitter>();
  #server: net.Server | undefined;
  #bound = { host: '', port: 0 };

  constructor(cfg: TcpReceiverConfig, deps: TcpReceiverDeps) {
    this.#cfg = cfg;
    this.#deps = deps;
  }

  async start(): Promise<void> {
    const hp = parseHostPort(this.#cfg.address);
    if (typeof hp === 'string') throw new DaemonError('ERR_LISTEN', `tcp-addr: ${hp}`);
    const server = net.createServer((socket) => this.#serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: hp.host === '' ? undefined : hp.host, port: hp.port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      throw new DaemonError('ERR_LISTEN', `cannot listen on tcp ${this.#cfg.address}: ${errorMessage(err)}`, {
        cause: err,
      });
    });
    server.on('error', (err) => this.#deps.logger.error({ err: errorMessage(err) }, 'tcp receiver error'));
    this.#server = server;
    const a = server.address() as net.AddressInfo;
    this.#bound = { host: a.address, port: a.port };
    this.#deps.logger.info({ address: `${a.address}:${a.port}` }, 'tcp receiver listening');
  }

  #serve(socket: net.Socket): void {
    const source = normaliseSourceAddress(socket.remoteAddress ?? '');
    const { sink, stats } = this.#deps;
    const splitter = new LineSplitter(
      this.#cfg.maxLineBytes,
      (bytes, start, end) => sink.ingestLine(bytes, start, end, source),
      () => stats.tcpLinesTooLong++,
    );
    this.#sockets.set(socket, splitter);
    socket.on('data', (chunk: Buffer) => {
      stats.datagrams.tcp++;
      stats.bytes.tcp += chunk.length;
      try {
        splitter.push(chunk);
      } catch (err) {
        // The sink is total by contract; this guard only keeps a bug from killing intake.
        this.#deps.logger.error({ err: errorMessage(err), source }, 'internal error while ingesting tcp data');
      }
    });
    socket.on('end', () => {
      splitter.end();
      socket.end();
    });
    socket.on('error', (err) => this.#deps.logger.debug({ err: errorMessage(err), source }, 'tcp connection error'));
    socket.on('close', () => this.#sockets.delete(socket));
  }

  address(): { host: string; port: number } {
    return this.#bound;
  }

  /** Stops accepting, then ends every open connection after delivering its buffered line. */
  async shutdown(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const [s, splitter] of this.#sockets) {
      splitter.end();
      s.destroy();
    }
    this.#sockets.clear();
    await closed;
  }
}
