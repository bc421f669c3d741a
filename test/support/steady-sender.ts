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

  constructor(port: number) {
    const payload = Buffer.from(Array(5).fill(STEADY_LINE).join('\n'));
    this.#timer = setInterval(() => {
      this.#socket.send(payload, port, '127.0.0.1');
      this.sent += 5;
    }, 2);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    // Let the last sends leave the socket before closing it.
    await new Promise((r) => setTimeout(r, 20));
    await new Promise<void>((r) => this.#socket.close(() => r()));
  }
}
