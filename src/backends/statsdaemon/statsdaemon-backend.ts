import { createRequire } from 'node:module';
import type * as Dgram from 'node:dgram';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { StatsdEvent } from '../../parser/sample.js';
import { runChunked } from '../../shared/cooperative.js';
import { BackendError, errorMessage } from '../../shared/errors.js';
import { RateLimitedLog } from '../../shared/logger.js';
import type { Backend, BackendDeps } from '../backend.js';
import { SendError, StreamSender } from '../shared/stream-sender.js';
import type { StatsdaemonConfig } from './config.js';
import { eventLine, statsdPackets } from './format.js';

const require = createRequire(import.meta.url);

/** gostatsd's packet limit for UDP (an Ethernet MTU minus IP and UDP headers). */
export const UDP_PACKET = 1472;
/** Lines per write over TCP. */
const TCP_PACKET = 65_536;

/**
 * StatsdaemonBackend re-emits every flush as StatsD lines to another statsd (gostatsd's
 * `statsdaemon` backend): UDP packets of at most 1472 bytes, or newline-delimited over one
 * kept TCP or TLS connection. Events are re-emitted as `_e{…}` lines. What cannot be sent
 * is counted and the flush fails; the next flush tries again with a new connection.
 */
export class StatsdaemonBackend implements Backend {
  readonly name: string;
  readonly #config: StatsdaemonConfig;
  readonly #deps: BackendDeps;
  readonly #stream: StreamSender | undefined;
  #udp: Dgram.Socket | undefined;
  readonly #failures: RateLimitedLog;

  constructor(config: StatsdaemonConfig, deps: BackendDeps) {
    this.name = deps.name;
    this.#config = config;
    this.#deps = deps;
    this.#failures = new RateLimitedLog(60_000, () => deps.clock.now());
    if (config.tcp) {
      this.#stream = new StreamSender({
        host: config.host,
        port: config.port,
        dialTimeoutMs: config.clientTimeoutMs,
        writeTimeoutMs: config.clientTimeoutMs,
        clock: deps.clock,
        ...(config.tls
          ? { tls: { caFile: config.tlsCaPath, certFile: config.tlsCertPath, keyFile: config.tlsKeyPath } }
          : {}),
      });
    }
  }

  async start(): Promise<void> {
    if (this.#stream !== undefined) return;
    const dgram = require('node:dgram') as typeof Dgram;
    const socket = dgram.createSocket(this.#config.host.includes(':') ? 'udp6' : 'udp4');
    socket.on('error', (err) => this.#deps.logger.debug({ err: errorMessage(err) }, 'statsdaemon socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(this.#config.port, this.#config.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.#udp = socket;
  }

  async flush(snapshot: FlushSnapshot, signal: AbortSignal): Promise<void> {
    const max = this.#stream === undefined ? UDP_PACKET : TCP_PACKET;
    const { packets, lines } = await runChunked(statsdPackets(snapshot, this.#config.disableTags, max), signal);
    if (packets.length === 0) return;
    await this.#send(packets, lines, signal);
  }

  async sendEvent(e: StatsdEvent, signal: AbortSignal): Promise<void> {
    await this.#send([eventLine(e)], 1, signal);
  }

  async #send(packets: string[], lines: number, signal: AbortSignal): Promise<void> {
    const m = this.#deps.metrics;
    try {
      if (this.#stream !== undefined) await this.#stream.send(packets.join('\n') + '\n', signal);
      else {
        const udp = this.#udp;
        if (udp === undefined) throw new SendError('ENOTCONN', 'the backend is not started');
        for (const p of packets)
          await new Promise<void>((resolve, reject) => udp.send(p, (err) => (err ? reject(err) : resolve())));
      }
      m.sent(packets.length, lines);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      m.sendError(code);
      m.dropped('send_failed', lines);
      this.#failures.maybe(code, (suppressed) =>
        this.#deps.logger.warn(
          { address: `${this.#config.host}:${this.#config.port}`, code, err: errorMessage(err), suppressed },
          'statsdaemon send failed; counted as dropped',
        ),
      );
      throw new BackendError(this.name, `statsdaemon: ${errorMessage(err)}`, { cause: err });
    }
  }

  async shutdown(): Promise<void> {
    this.#stream?.close();
    const u = this.#udp;
    this.#udp = undefined;
    if (u !== undefined) await new Promise<void>((resolve) => u.close(() => resolve()));
  }
}
