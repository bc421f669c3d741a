import type { Lifecycle } from '../shared/lifecycle.js';
import type { Transport } from '../ingest/ingester.js';

/**
 * DatagramSink is what receivers feed. Implementations MUST NOT throw; every line is
 * accounted for (accepted, or rejected by reason).
 */
export interface DatagramSink {
  /** One UDP datagram (or any `\n`-separated batch of lines) from `sourceHost`. */
  ingestDatagram(bytes: Uint8Array, sourceHost: string, transport?: Transport): void;
  /** One datagram `bytes[start, end)` of a buffer that is reused once this returns. */
  ingestDatagramAt(bytes: Uint8Array, start: number, end: number, sourceHost: string, transport?: Transport): void;
  /** One already-framed line `bytes[start, end)` (TCP). */
  ingestLine(bytes: Uint8Array, start: number, end: number, sourceHost: string): void;
}

/**
 * A network listener feeding a DatagramSink. It never throws into the event loop after
 * start; socket errors are logged and the receiver keeps serving.
 */
export interface Receiver extends Lifecycle {
  /** The bound address once started (port resolved when 0 was asked for). */
  address(): { host: string; port: number };
}

/** `::ffff:10.0.0.5` → `10.0.0.5`, the form the reference shows for IPv4 senders. */
export function normaliseSourceAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
