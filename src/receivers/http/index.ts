import type { KeySpec } from '../../shared/config-key.js';
import type { ReceiverFactory } from '../receiver.js';
import { validateHttpServers, type HttpReceiverConfig } from './config.js';
import type * as Implementation from './http-receiver.js';
import { onFirstUse } from '../../shared/on-first-use.js';

/** The implementation, loaded by the first instance (a configuration without it never loads it). */
const implementation = onFirstUse<typeof Implementation>(import.meta.url, './http-receiver.js');

/** The top-level keys of the `http` receiver (its servers are `[http.<name>]` sections). */
export const HTTP_KEYS: readonly KeySpec[] = [
  {
    key: 'http-servers',
    type: 'list',
    default: '',
    shown: '"" (none)',
    group: 'Listeners',
    reload: 'restart',
    describe:
      'Space-separated names of gostatsd-style HTTP servers, each set up by its [http.<name>] section (address, enable-ingestion for /v2/raw, enable-healthcheck)',
  },
];

/** Factory of the `http` receiver: gostatsd's `[http.<name>]` servers (health, `/v2/raw` ingestion). */
export const httpReceiverFactory = {
  type: 'http',
  description: "gostatsd's HTTP servers (http-servers, [http.<name>]): health paths and /v2/raw, /v2/event ingestion",
  keys: { names: 'http-servers', servers: 'http' },
  rows: HTTP_KEYS,
  validate: validateHttpServers,
  create: (config, deps) => new (implementation().HttpReceiver)(config, deps),
} satisfies ReceiverFactory<HttpReceiverConfig>;
