import { loadNativeAddon } from '../../shared/native-addon.js';

/** The open socket of the native batch receiver (see native/udp_batch.c). */
export interface BatchSocket {
  /** Datagram i of a batch is `data[i * slotBytes, i * slotBytes + meta[2 * i])`. Reused per batch. */
  readonly data: Uint8Array;
  /** Per datagram: length, then (index into `hosts` << 1) | truncated. Reused per batch. */
  readonly meta: Int32Array;
  readonly port: number;
  /** SO_RCVBUF as the kernel reports it (twice the granted size on Linux). */
  readonly receiveBufferBytes: number;
}

/** The native module's exports. */
export interface BatchModule {
  open(
    host: string,
    port: number,
    ipv6: boolean,
    receiveBufferBytes: number,
    slotBytes: number,
    batch: number,
    onBatch: (count: number, hosts: readonly string[]) => void,
    /** SO_REUSEPORT: other sockets may bind the same port, and the kernel spreads senders over them. */
    reusePort?: boolean,
  ): BatchSocket;
  /**
   * A Unix domain datagram socket at `path`, created with permissions `mode`; a stale
   * socket file is replaced. With `passcred`, meta holds the sender's pid instead of a
   * host index (`meta[2 * i + 1] >> 1`; 0 when unknown).
   */
  openUnix(
    path: string,
    mode: number,
    receiveBufferBytes: number,
    slotBytes: number,
    batch: number,
    passcred: boolean,
    onBatch: (count: number, hosts: readonly string[]) => void,
  ): BatchSocket;
  /** Stops reading; `done` runs once the socket is closed and its port free. */
  close(socket: BatchSocket, done: () => void): void;
}

/**
 * The batch receiver of the native module (`build/udp_batch.node`), or why it is not
 * available (another platform, no compiler at build time).
 */
export function loadBatchModule(): { module: BatchModule } | { reason: string } {
  const loaded = loadNativeAddon();
  return 'module' in loaded ? { module: loaded.module as BatchModule } : loaded;
}
