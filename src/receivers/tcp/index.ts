import type { KeySpec } from '../../shared/config-key.js';
import type { ReceiverFactory } from '../receiver.js';
import type { TcpReceiverConfig } from './tcp-receiver.js';
import type * as Implementation from './tcp-receiver.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './tcp-receiver.js');

/** The top-level keys of the `tcp` receiver. */
export const TCP_KEYS: readonly KeySpec[] = [
  {
    key: 'tcp-addr',
    type: 'address',
    default: '',
    shown: '"" (off)',
    emptyIsOff: true,
    group: 'Listeners',
    reload: 'restart',
    describe: 'TCP address for newline-delimited StatsD; empty disables it',
  },
  {
    key: 'tcp-max-line-length',
    type: 'bytes',
    default: '65536',
    min: 64,
    max: 16 * 1024 * 1024,
    group: 'Listeners',
    reload: 'restart',
    describe: 'Longest TCP line in bytes; longer lines are dropped and counted',
  },
  {
    key: 'tcp-max-connections',
    type: 'int',
    default: '1024',
    min: 1,
    max: 1_000_000,
    group: 'Listeners',
    reload: 'restart',
    describe:
      'Most TCP connections open at once; more are closed at once and counted (connections_closed_total{reason="limit"})',
  },
  {
    key: 'tcp-idle-timeout',
    type: 'duration',
    default: '1m',
    group: 'Listeners',
    reload: 'restart',
    describe:
      'A TCP connection that sends nothing for this long is closed and counted (connections_closed_total{reason="timeout"}); 0 = never',
  },
];

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
  rows: TCP_KEYS,
  validate(read) {
    const maxLineBytes = read.bytes('tcp-max-line-length');
    const maxConnections = read.int('tcp-max-connections');
    const idleTimeoutMs = read.duration('tcp-idle-timeout');
    const address = read.address('tcp-addr');
    return address === '' ? undefined : { address, maxLineBytes, maxConnections, idleTimeoutMs };
  },
  create: (config, deps) => new (implementation().TcpReceiver)(config, deps),
} satisfies ReceiverFactory<TcpReceiverConfig>;
