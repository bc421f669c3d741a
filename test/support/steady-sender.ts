import dgram from 'node:dgram';

/** An Envoy-style counter line whose values SepAgent receives as `upstream_rq_total`. */
export const STEADY_LINE = 'envoy.cluster.external_cluster_sep1.upstream_rq_total:1|c';

/**
 * Sends {@link STEADY_LINE} in 5-line datagrams every 2 ms to 127.0.0.1:`port` until
 * stopped, counting the lines sent: a steady stream to check that nothing is lost or
 * doubled while something changes.
 */
export class SteadySender {
  sent = 0;
  readonly #socket = dgram.createSocket('udp4');
  #timer: NodeJS.Timeout | undefined;
  /** Sends handed to the socket whose callback has not run yet. */
  #pending = 0;
  #idle: (() => void) | undefined;

  constructor(port: number) {
    const payload = Buffer.from(Array(5).fill(STEADY_LINE).join('\n'));
    this.#timer = setInterval(() => {
      this.#pending++;
      this.#socket.send(payload, port, '127.0.0.1', () => {
        if (--this.#pending === 0) this.#idle?.();
      });
      this.sent += 5;
    }, 2);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    // Let the last sends leave the socket (their callbacks) before closing it.
    if (this.#pending > 0) await new Promise<void>((r) => (this.#idle = r));
    await new Promise<void>((r) => this.#socket.close(() => r()));
  }
}
