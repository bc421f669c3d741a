import { lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { DaemonError, errorMessage } from '../../shared/errors.js';
import type { Receiver, ReceiverDeps } from '../receiver.js';
import { checkReceiveBuffer, grantedReceiveBuffer } from '../receive-buffer.js';
import { loadBatchModule, type BatchModule, type BatchSocket } from '../udp/native-batch.js';

/** Bytes per datagram slot: DogStatsD clients send up to 8 KiB over a Unix socket; the kernel allows more. */
const SLOT_BYTES = 65536;
/** Datagrams per recvmmsg(2) call. */
const BATCH = 64;
/** Containers remembered by sender pid (origin detection). */
const ORIGIN_CACHE = 4096;

/** Settings of {@link UnixReceiver}. */
export interface UnixReceiverConfig {
  /** `unix-socket`: the socket file. */
  path: string;
  /** `unix-socket-mode`: permissions of the socket file (e.g. 0o620). */
  mode: number;
  /** `receive-buffer-size` (SO_RCVBUF). */
  receiveBufferBytes: number;
  /** `unix-socket-origin-detection`: tag lines with the sender's container id (SO_PASSCRED). */
  originDetection: boolean;
}

/**
 * The container id in a `/proc/<pid>/cgroup` file: the 64-hex-digit id in the last path of
 * a line (cgroup v1 `…/kubepods/…/<id>`, v2 `…/cri-containerd-<id>.scope`,
 * `…/docker-<id>.scope`); `''` when there is none.
 */
export function containerIdFromCgroup(text: string): string {
  let id = '';
  for (const line of text.split('\n')) {
    const m = /([0-9a-f]{64})(?:\.scope)?\s*$/.exec(line);
    if (m !== null) id = m[1]!;
  }
  return id;
}

/**
 * UnixReceiver reads StatsD/DogStatsD datagrams from a Unix domain datagram socket, the
 * transport DogStatsD clients use to avoid UDP loss: a full socket makes the sender wait
 * (or see EAGAIN) instead of dropping. It reads with recvmmsg(2) through the native module;
 * node:dgram has no Unix datagram sockets, so without the module the receiver cannot start.
 *
 * The socket file is created with `unix-socket-mode`; a stale file (no listener) is
 * replaced, anything else at the path is an error; the file is removed at shutdown.
 * Lines have no sender host. With origin detection, the sender's pid (SO_PASSCRED) gives
 * its container id from `/proc/<pid>/cgroup`, where the pid is visible (the same PID
 * namespace: `shareProcessNamespace`, or a node-level daemon).
 */
export class UnixReceiver implements Receiver {
  readonly #cfg: UnixReceiverConfig;
  readonly #deps: ReceiverDeps;
  #native: BatchModule | undefined;
  #socket: BatchSocket | undefined;
  /** The socket file's inode, so shutdown removes only our own file. */
  #inode = -1;
  readonly #origins = new Map<number, string>();
  readonly #procRoot: string;

  /** `procRoot`: where the process table is read (origin detection). */
  constructor(cfg: UnixReceiverConfig, deps: ReceiverDeps, procRoot = '/proc') {
    this.#cfg = cfg;
    this.#deps = deps;
    this.#procRoot = procRoot;
  }

  async start(): Promise<void> {
    const loaded = loadBatchModule();
    if (!('module' in loaded))
      throw new DaemonError(
        'ERR_LISTEN',
        `unix-socket: Unix datagram sockets need the native receiver, which is not available: ${loaded.reason}`,
      );
    const native = loaded.module;
    const { path, mode } = this.#cfg;
    let socket: BatchSocket | undefined;
    const onBatch = (count: number): void => {
      if (socket !== undefined) this.#batch(socket, count);
    };
    try {
      socket = native.openUnix(
        path,
        mode,
        this.#cfg.receiveBufferBytes,
        SLOT_BYTES,
        BATCH,
        this.#cfg.originDetection,
        onBatch,
      );
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why =
        code === 'EADDRINUSE'
          ? 'another process is listening on it'
          : code === 'EEXIST'
            ? 'a file that is not a socket is in the way (it is never removed)'
            : errorMessage(err);
      throw new DaemonError('ERR_LISTEN', `cannot listen on unix-socket "${path}": ${why}`, { cause: err });
    }
    this.#native = native;
    this.#socket = socket;
    try {
      this.#inode = lstatSync(path).ino;
    } catch {
      this.#inode = -1;
    }
    this.#deps.onReceiveBuffer?.(socket.receiveBufferBytes);
    this.#deps.logger.info(
      {
        address: path,
        mode: `0${mode.toString(8)}`,
        originDetection: this.#cfg.originDetection,
        requestedBytes: this.#cfg.receiveBufferBytes,
        grantedBytes: grantedReceiveBuffer(socket.receiveBufferBytes),
      },
      'unix socket receiver listening',
    );
    checkReceiveBuffer(this.#deps.logger, 'unix', this.#cfg.receiveBufferBytes, socket.receiveBufferBytes);
  }

  #batch(socket: BatchSocket, count: number): void {
    const { data, meta } = socket;
    const sink = this.#deps.sink;
    for (let i = 0; i < count; i++) {
      if ((meta[2 * i + 1]! & 1) !== 0) {
        this.#deps.stats.truncatedDatagrams.unix++;
        continue;
      }
      const start = i * SLOT_BYTES;
      const origin = this.#cfg.originDetection ? this.#origin(meta[2 * i + 1]! >> 1) : '';
      try {
        sink.ingestDatagramAt(data, start, start + meta[2 * i]!, '', 'unix', origin);
      } catch (err) {
        // The sink is total by contract; this guard only keeps a bug from killing intake.
        this.#deps.logger.error({ err: errorMessage(err) }, 'internal error while ingesting a datagram');
      }
    }
  }

  /** The container id of process `pid`, or `''` (pid 0: not visible from here). */
  #origin(pid: number): string {
    if (pid <= 0) return '';
    let id = this.#origins.get(pid);
    if (id === undefined) {
      try {
        id = containerIdFromCgroup(readFileSync(`${this.#procRoot}/${pid}/cgroup`, 'utf8'));
      } catch {
        id = ''; // the process is gone, or in another PID namespace
      }
      if (this.#origins.size >= ORIGIN_CACHE) this.#origins.clear();
      this.#origins.set(pid, id);
    }
    return id;
  }

  address(): { host: string; port: number } {
    return { host: this.#cfg.path, port: 0 };
  }

  async shutdown(): Promise<void> {
    const socket = this.#socket;
    const native = this.#native;
    this.#socket = undefined;
    if (socket === undefined || native === undefined) return;
    await new Promise<void>((done) => native.close(socket, done));
    try {
      if (lstatSync(this.#cfg.path).ino === this.#inode) unlinkSync(this.#cfg.path);
    } catch {
      // already gone
    }
  }
}
