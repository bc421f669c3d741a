import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { StatsdEvent } from '../../parser/sample.js';
import { runChunked } from '../../shared/cooperative.js';
import { BackendError, errorCode, errorMessage } from '../../shared/errors.js';
import { RateLimitedLog } from '../../shared/logger.js';
import type { Backend, BackendDeps, Explanation } from '../backend.js';
import { explained, linesOf } from '../shared/explained.js';
import { runToEnd } from '../../shared/cooperative.js';
import { StreamSender } from '../shared/stream-sender.js';
import { UdpSender } from '../shared/udp-sender.js';
import type { StatsdaemonConfig } from './config.js';
import { eventLine, statsdPackets } from './format.js';

/** gostatsd's packet limit for UDP (an Ethernet MTU minus IP and UDP headers). */
export const UDP_PACKET = 1472;
/** Lines per write over TCP. */
const TCP_PACKET = 65_536;

/**
 * StatsdaemonBackend re-emits every flush as StatsD lines to another statsd (gostatsd's
 * `statsdaemon` backend): UDP packets of at most 1472 bytes, or newline-delimited over one
 * kept TCP or TLS connection (the shared {@link UdpSender} and {@link StreamSender}). Events
 * are re-emitted as `_e{…}` lines. What cannot be sent is counted and the flush fails; the
 * next flush tries again with a new connection.
 */
export class StatsdaemonBackend implements Backend {
  readonly name: string;
  readonly #config: StatsdaemonConfig;
  readonly #deps: BackendDeps;
  readonly #stream: StreamSender | undefined;
  readonly #udp: UdpSender | undefined;
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
    } else {
      this.#udp = new UdpSender({
        host: config.host,
        port: config.port,
        label: 'statsdaemon',
        metrics: deps.metrics,
        logger: deps.logger,
        clock: deps.clock,
      });
    }
  }

  /** Starts connecting in the background: the peer may come up after us, and every flush retries. */
  async start(): Promise<void> {
    this.#udp?.open().catch(() => undefined); // counted and logged by the sender
  }

  /** The StatsD lines it would send. */
  explain(snapshot: FlushSnapshot): Explanation {
    const { packets } = runToEnd(statsdPackets(snapshot, this.#config.disableTags, UDP_PACKET));
    return explained(packets.flatMap(linesOf));
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
    const udp = this.#udp;
    const stream = this.#stream;
    try {
      if (udp !== undefined) {
        await udp.open();
        await udp.sendAll(packets);
      } else if (stream !== undefined) await stream.send(packets.join('\n') + '\n', signal);
      m.sent(packets.length, lines);
    } catch (err) {
      m.dropped('send_failed', lines);
      if (udp !== undefined)
        udp.failed(err); // counted per attempt by the sender
      else {
        const code = errorCode(err);
        m.sendError(code);
        this.#failures.maybe(code, (suppressed) =>
          this.#deps.logger.warn(
            { address: `${this.#config.host}:${this.#config.port}`, code, err: errorMessage(err), suppressed },
            'statsdaemon send failed; counted as dropped',
          ),
        );
      }
      throw new BackendError(this.name, `statsdaemon: ${errorMessage(err)}`, { cause: err });
    }
  }

  async shutdown(): Promise<void> {
    this.#stream?.close();
    this.#udp?.close();
  }
}
