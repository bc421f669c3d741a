import net from 'node:net';
import { errorMessage } from '../../shared/errors.js';
import { close, listen } from '../../shared/listen.js';
import { normaliseSourceAddress, type Receiver, type ReceiverDeps } from '../receiver.js';
import { LineSplitter } from './line-splitter.js';

/** Settings of {@link TcpReceiver}. */
export interface TcpReceiverConfig {
  /** Listen address (`tcp-addr`). */
  address: string;
  /** Longest accepted line in bytes (`tcp-max-line-length`); longer lines are counted and dropped. */
  maxLineBytes: number;
  /** Most connections open at once (`tcp-max-connections`); more are closed at once and counted. */
  maxConnections: number;
  /** A connection silent this long is closed and counted (`tcp-idle-timeout`, ms; 0 = never). */
  idleTimeoutMs: number;
}

/**
 * TcpReceiver accepts newline-delimited StatsD over TCP (Envoy's statsd sink can use
 * TCP). Each connection is framed by a LineSplitter; a connection error closes only that
 * connection. At most `tcp-max-connections` are open, each holds at most one partial line
 * of `tcp-max-line-length`, and one silent for `tcp-idle-timeout` is closed, so idle or
 * dripping clients hold bounded memory.
 */
export class TcpReceiver implements Receiver {
  readonly #cfg: TcpReceiverConfig;
  readonly #deps: ReceiverDeps;
  readonly #sockets = new Map<net.Socket, LineSplitter>();
  #server: net.Server | undefined;
  #bound = { host: '', port: 0 };

  constructor(cfg: TcpReceiverConfig, deps: ReceiverDeps) {
    this.#cfg = cfg;
    this.#deps = deps;
  }

  async start(): Promise<void> {
    const server = net.createServer((socket) => this.#serve(socket));
    const closed = this.#deps.stats.connectionsClosed('tcp');
    server.maxConnections = this.#cfg.maxConnections;
    server.on('drop', () => closed.limit++);
    this.#bound = await listen(server, this.#cfg.address, 'tcp-addr', 'tcp');
    server.on('error', (err) => this.#deps.logger.error({ err: errorMessage(err) }, 'tcp receiver error'));
    this.#server = server;
    this.#deps.logger.info({ address: `${this.#bound.host}:${this.#bound.port}` }, 'tcp receiver listening');
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
    if (this.#cfg.idleTimeoutMs > 0) {
      socket.setTimeout(this.#cfg.idleTimeoutMs, () => {
        // A partial line of a silent connection is dropped with it: it never ended.
        stats.connectionsClosed('tcp').timeout++;
        socket.destroy();
      });
    }
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
    const closed = close(server);
    for (const [s, splitter] of this.#sockets) {
      splitter.end();
      s.destroy();
    }
    this.#sockets.clear();
    await closed;
  }
}
