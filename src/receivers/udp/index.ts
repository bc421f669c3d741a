import type { KeySpec } from '../../shared/config-key.js';
import { RECEIVE_BUFFER_KEY } from '../receive-buffer.js';
import type { ReceiverFactory } from '../receiver.js';
import type { UdpReceiverConfig, UdpReceiverMode } from './udp-receiver.js';
import type * as Implementation from './udp-receiver.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './udp-receiver.js');

/** The top-level keys of the `udp` receiver. */
export const UDP_KEYS: readonly KeySpec[] = [
  {
    key: 'metrics-addr',
    type: 'address',
    default: '127.0.0.1:8125',
    group: 'Listeners',
    reload: 'restart',
    describe: 'UDP address for StatsD datagrams; loopback by default (":8125" = every interface, IPv4 and IPv6)',
  },
  {
    key: 'udp-receiver',
    type: 'string',
    default: 'auto',
    values: ['auto', 'batch', 'dgram'],
    group: 'Listeners',
    reload: 'restart',
    describe:
      'How UDP is read: "batch" (recvmmsg(2) in batches, Linux, needs the built native module), "dgram" (node:dgram) or "auto" (batch when available)',
  },
];

/** Factory of the `udp` receiver: StatsD datagrams on `metrics-addr` (always on). */
export const udpReceiverFactory = {
  type: 'udp',
  description: 'StatsD datagrams over UDP (metrics-addr), read with recvmmsg(2) where available',
  keys: { address: 'metrics-addr', receiveBufferBytes: 'receive-buffer-size', mode: 'udp-receiver' },
  rows: [UDP_KEYS[0]!, RECEIVE_BUFFER_KEY, ...UDP_KEYS.slice(1)],
  validate: (read) => ({
    address: read.address('metrics-addr'),
    receiveBufferBytes: read.bytes('receive-buffer-size'),
    mode: read.string('udp-receiver') as UdpReceiverMode,
  }),
  create: (config, deps) => new (implementation().UdpReceiver)(config, deps),
} satisfies ReceiverFactory<UdpReceiverConfig>;
