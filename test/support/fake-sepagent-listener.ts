import dgram from 'node:dgram';
import { waitFor } from './wait-for.js';

/** One SepAgent document as received. */
export interface ReceivedDocument {
  raw: string;
  /** Date.now() when it arrived. */
  at: number;
  /** The sender's UDP port (one per backend socket). */
  from: number;
  sep: string;
  metrics: Array<{
    instanceId: string;
    cluster: string;
    metricType: string;
    aggregationType: string;
    statistics: string;
    value: number;
    unixTimestamp: number;
  }>;
}

/** A UDP socket on 127.0.0.1 playing SepAgent: records every datagram it receives. */
export class FakeSepAgentListener {
  readonly documents: ReceivedDocument[] = [];
  readonly #socket: dgram.Socket;
  readonly #markers = new Map<string, () => void>();
  #drains = 0;
  port = 0;

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => {
      const raw = msg.toString('utf8');
      const doc = JSON.parse(raw) as Omit<ReceivedDocument, 'raw' | 'at' | 'from'>;
      const marker = this.#markers.get(doc.sep);
      if (marker !== undefined) {
        this.#markers.delete(doc.sep);
        marker();
        return;
      }
      this.documents.push({ ...doc, raw, at: Date.now(), from: rinfo.port });
    });
  }

  /** Binds on 127.0.0.1 (port 0 = any free port). */
  static async start(port = 0): Promise<FakeSepAgentListener> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => resolve());
    });
    const l = new FakeSepAgentListener(socket);
    l.port = socket.address().port;
    return l;
  }

  /** Sum of `count` items of counters named `statistics` (all SEPs, all documents). */
  counterTotal(statistics: string): number {
    let n = 0;
    for (const d of this.documents) {
      for (const m of d.metrics) {
        if (m.metricType === 'counter' && m.aggregationType === 'count' && m.statistics === statistics) n += m.value;
      }
    }
    return n;
  }

  /**
   * Resolves once every datagram that reached this socket before the call has been
   * recorded: a marker sent to the socket itself queues behind them (the marker is not
   * recorded). After a sender has exited, this is when nothing more can arrive from it.
   */
  async drain(): Promise<void> {
    const id = `drain-${++this.#drains}`;
    const arrived = new Promise<void>((resolve) => this.#markers.set(id, resolve));
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) =>
      s.send(JSON.stringify({ sep: id, metrics: [] }), this.port, '127.0.0.1', () => resolve()),
    );
    s.close();
    await arrived;
  }

  waitForDocuments(n: number, timeoutMs = 5000): Promise<ReceivedDocument[]> {
    return waitFor(
      () => (this.documents.length >= n ? this.documents : undefined),
      timeoutMs,
      `${n} SepAgent documents`,
    );
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

/** A `[sepagent]` section sending to `port` with the SEP regexps of the worked examples. */
export function sepagentSection(port: number): string {
  return [
    '[sepagent]',
    `port = ${port}`,
    "sep_regexp = 'sep([0-9]+)'",
    "cluster_regexp = 'external_cluster_sep([0-9]+)'",
    '',
  ].join('\n');
}
