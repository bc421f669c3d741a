import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

/** The parts of undici this daemon uses. */
export interface UndiciParts {
  Agent: typeof Undici.Agent;
  Pool: typeof Undici.Pool;
  /** `dispatcher.request(options)`: undici's request API on any of its dispatchers. */
  request(
    dispatcher: Undici.Dispatcher,
    options: Undici.Dispatcher.RequestOptions,
  ): Promise<Undici.Dispatcher.ResponseData>;
}

let parts: UndiciParts | undefined;

/**
 * undici's Agent, Pool and request API, loaded on first use from the files its index
 * re-exports (the version is pinned by package-lock.json). The index would also load
 * fetch, WebSocket, EventSource, the cache and the mock layers: ~4.5 MB of memory in every
 * process that posts anything (docs/performance.md, memory per pod).
 */
export function undici(): UndiciParts {
  if (parts === undefined) {
    const request = require('undici/lib/api/api-request.js') as (
      this: Undici.Dispatcher,
      options: Undici.Dispatcher.RequestOptions,
    ) => Promise<Undici.Dispatcher.ResponseData>;
    parts = {
      Agent: require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent,
      Pool: require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool,
      request: (dispatcher, options) => request.call(dispatcher, options),
    };
  }
  return parts;
}
