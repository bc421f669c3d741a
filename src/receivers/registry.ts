import { httpReceiverFactory } from './http/index.js';
import type { ReceiverFactory } from './receiver.js';
import { tcpReceiverFactory } from './tcp/index.js';
import { udpReceiverFactory } from './udp/index.js';
import { unixReceiverFactory } from './unix/index.js';

/** Every receiver this build can run, by type, in start order. */
export const RECEIVER_FACTORIES: ReadonlyMap<string, ReceiverFactory<unknown>> = new Map<
  string,
  ReceiverFactory<unknown>
>(
  [udpReceiverFactory, unixReceiverFactory, tcpReceiverFactory, httpReceiverFactory].map((f) => [
    f.type,
    f as ReceiverFactory<unknown>,
  ]),
);
