import type { ReceiverFactory } from '../receiver.js';
import { validateHttpServers, type HttpReceiverConfig } from './config.js';
import { HttpReceiver } from './http-receiver.js';

/** Factory of the `http` receiver: gostatsd's `[http.<name>]` servers (health, `/v2/raw` ingestion). */
export const httpReceiverFactory = {
  type: 'http',
  description: "gostatsd's HTTP servers (http-servers, [http.<name>]): health paths and /v2/raw, /v2/event ingestion",
  keys: { names: 'http-servers', servers: 'http' },
  validate: validateHttpServers,
  create: (config, deps) => new HttpReceiver(config, deps),
} satisfies ReceiverFactory<HttpReceiverConfig>;
