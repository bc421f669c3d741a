import { Checker } from '../../shared/check.js';
import type { ReceiverFactory } from '../receiver.js';
import { UdpReceiver, type UdpReceiverConfig, type UdpReceiverMode } from './udp-receiver.js';

const MODES: readonly UdpReceiverMode[] = ['auto', 'batch', 'dgram'];

/** Factory of the `udp` receiver: StatsD datagrams on `metrics-addr` (always on). */
export const udpReceiverFactory = {
  type: 'udp',
  description: 'StatsD datagrams over UDP (metrics-addr), read with recvmmsg(2) where available',
  keys: { address: 'metrics-addr', receiveBufferBytes: 'receive-buffer-size', mode: 'udp-receiver' },
  validate(doc, issues) {
    const c = new Checker(issues);
    const mode = c.string(doc['udp-receiver'], 'udp-receiver', 'auto').trim().toLowerCase();
    if (!MODES.includes(mode as UdpReceiverMode))
      c.error('udp-receiver', `must be "auto", "batch" or "dgram", got "${mode}"`);
    return {
      address: c.address(doc['metrics-addr'], 'metrics-addr', '127.0.0.1:8125', false),
      receiveBufferBytes: c.bytes(doc['receive-buffer-size'], 'receive-buffer-size', 8 * 1024 * 1024, 0, 2 ** 31 - 1),
      mode: mode as UdpReceiverMode,
    };
  },
  create: (config, deps) => new UdpReceiver(config, deps),
} satisfies ReceiverFactory<UdpReceiverConfig>;
