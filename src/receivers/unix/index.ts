import { Checker } from '../../shared/check.js';
import type { ReceiverFactory } from '../receiver.js';
import { UnixReceiver, type UnixReceiverConfig } from './unix-receiver.js';

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
  validate(doc, issues) {
    const c = new Checker(issues);
    const path = c.string(doc['unix-socket'], 'unix-socket', '').trim();
    const modeText = c.string(doc['unix-socket-mode'], 'unix-socket-mode', '0620').trim();
    const originDetection = c.bool(doc['unix-socket-origin-detection'], 'unix-socket-origin-detection', false);
    if (path === '') return undefined;
    if (!path.startsWith('/')) c.error('unix-socket', `must be an absolute path, got "${path}"`);
    else if (Buffer.byteLength(path) > 107) c.error('unix-socket', `is longer than a socket path may be (107 bytes)`);
    let mode = 0o620;
    if (!/^0?[0-7]{3}$/.test(modeText))
      c.error('unix-socket-mode', `must be an octal mode such as 0620, got "${modeText}"`);
    else mode = parseInt(modeText, 8);
    if ((mode & 0o200) === 0) c.error('unix-socket-mode', 'must let the owner write (0200), or no client could send');
    return {
      path,
      mode,
      receiveBufferBytes: c.bytes(doc['receive-buffer-size'], 'receive-buffer-size', 8 * 1024 * 1024, 0, 2 ** 31 - 1),
      originDetection,
    };
  },
  create: (config, deps) => new UnixReceiver(config, deps),
} satisfies ReceiverFactory<UnixReceiverConfig>;
