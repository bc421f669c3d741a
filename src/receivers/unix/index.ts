import type { KeySpec } from '../../shared/config-key.js';
import { RECEIVE_BUFFER_KEY } from '../receive-buffer.js';
import type { ReceiverFactory } from '../receiver.js';
import type { UnixReceiverConfig } from './unix-receiver.js';
import type * as Implementation from './unix-receiver.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './unix-receiver.js');

/** The top-level keys of the `unix` receiver (besides `receive-buffer-size`). */
export const UNIX_KEYS: readonly KeySpec[] = [
  {
    key: 'unix-socket',
    type: 'string',
    default: '',
    shown: '"" (off)',
    group: 'Listeners',
    reload: 'restart',
    describe:
      'Unix domain datagram socket for StatsD/DogStatsD (e.g. /var/run/statsd/dsd.socket); a stale file is replaced, the file is removed at exit',
  },
  {
    key: 'unix-socket-mode',
    type: 'string',
    default: '0620',
    group: 'Listeners',
    reload: 'restart',
    describe: 'Permissions of the socket file (octal); clients need write permission',
  },
  {
    key: 'unix-socket-origin-detection',
    type: 'bool',
    default: 'false',
    group: 'Listeners',
    reload: 'restart',
    describe:
      "Tag lines with the sending container's id (container_id:…) from the sender's pid (SO_PASSCRED) and /proc/<pid>/cgroup, where the pid is visible",
  },
];

/** Factory of the `unix` receiver: DogStatsD datagrams on a Unix domain socket (`unix-socket`). */
export const unixReceiverFactory = {
  type: 'unix',
  description: 'StatsD/DogStatsD datagrams on a Unix domain datagram socket (unix-socket), read with recvmmsg(2)',
  keys: {
    path: 'unix-socket',
    mode: 'unix-socket-mode',
    receiveBufferBytes: 'receive-buffer-size',
    originDetection: 'unix-socket-origin-detection',
  },
  rows: [...UNIX_KEYS, RECEIVE_BUFFER_KEY],
  validate(read) {
    const c = read.c;
    const path = read.string('unix-socket');
    const modeText = read.string('unix-socket-mode');
    const originDetection = read.bool('unix-socket-origin-detection');
    if (path === '') return undefined;
    if (!path.startsWith('/')) c.error('unix-socket', `must be an absolute path, got "${path}"`);
    else if (Buffer.byteLength(path) > 107) c.error('unix-socket', `is longer than a socket path may be (107 bytes)`);
    const mode = /^0?[0-7]{3}$/.test(modeText) ? parseInt(modeText, 8) : undefined;
    if (mode === undefined) c.error('unix-socket-mode', `must be an octal mode such as 0620, got "${modeText}"`);
    else if ((mode & 0o200) === 0)
      c.error('unix-socket-mode', 'must let the owner write (0200), or no client could send');
    return {
      path,
      mode: mode ?? 0,
      receiveBufferBytes: read.bytes('receive-buffer-size'),
      originDetection,
    };
  },
  create: (config, deps) => new (implementation().UnixReceiver)(config, deps),
} satisfies ReceiverFactory<UnixReceiverConfig>;
