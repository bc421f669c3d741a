import { Checker } from '../../shared/check.js';
import type { ReceiverFactory } from '../receiver.js';
import { TcpReceiver, type TcpReceiverConfig } from './tcp-receiver.js';

/** Factory of the `tcp` receiver: newline-delimited StatsD on `tcp-addr` (off when empty). */
export const tcpReceiverFactory = {
  type: 'tcp',
  description: 'newline-delimited StatsD over TCP (tcp-addr; off by default)',
  keys: {
    address: 'tcp-addr',
    maxLineBytes: 'tcp-max-line-length',
    maxConnections: 'tcp-max-connections',
    idleTimeoutMs: 'tcp-idle-timeout',
  },
  validate(doc, issues) {
    const c = new Checker(issues);
    const maxLineBytes = c.bytes(doc['tcp-max-line-length'], 'tcp-max-line-length', 65536, 64, 16 * 1024 * 1024);
    const maxConnections = c.int(doc['tcp-max-connections'], 'tcp-max-connections', 1024, 1, 1_000_000);
    const idleTimeoutMs = c.duration(doc['tcp-idle-timeout'], 'tcp-idle-timeout', 60_000, 0);
    const address = c.address(doc['tcp-addr'], 'tcp-addr', '', true);
    return address === '' ? undefined : { address, maxLineBytes, maxConnections, idleTimeoutMs };
  },
  create: (config, deps) => new TcpReceiver(config, deps),
} satisfies ReceiverFactory<TcpReceiverConfig>;
