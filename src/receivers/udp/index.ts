import type { KeySpec } from '../../shared/config-key.js';
import { RECEIVE_BUFFER_KEY } from '../receive-buffer.js';
import type { ReceiverFactory } from '../receiver.js';
import { UdpReceiver, type UdpReceiverConfig, type UdpReceiverMode } from './udp-receiver.js';

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
  create: (config, deps) => new UdpReceiver(config, deps),
} satisfies ReceiverFactory<UdpReceiverConfig>;
