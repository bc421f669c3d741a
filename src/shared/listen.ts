import type { AddressInfo, Server } from 'node:net';
import { parseHostPort } from './address.js';
import { DaemonError, errorMessage } from './errors.js';

/** A bound listener's address, port resolved. */
export interface BoundAddress {
  host: string;
  port: number;
}

/**
 * Binds a stream server (TCP, HTTP) to `address` (`host:port`, `:port` = every
 * interface). Rejects with an `ERR_LISTEN` DaemonError that names `key` (the config key
 * the address came from) and the reason.
 */
export async function listen(server: Server, address: string, key: string, what: string): Promise<BoundAddress> {
  const hp = parseHostPort(address);
  if (typeof hp === 'string') throw new DaemonError('ERR_LISTEN', `${key}: ${hp}`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: hp.host === '' ? undefined : hp.host, port: hp.port }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new DaemonError('ERR_LISTEN', `cannot listen on ${what} ${address}: ${errorMessage(err)}`, { cause: err });
  });
  const a = server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}

/** Stops accepting and resolves once every connection has closed. */
export function close(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
