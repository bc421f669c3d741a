import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** unix-dgram's socket (hot-shots' binding): the real client side of a Unix datagram socket. */
export interface UnixDgramSocket {
  connect(path: string): void;
  send(buf: Buffer, cb?: (err?: Error) => void): void;
  close(): void;
  on(event: 'congestion' | 'writable' | 'error' | 'connect', listener: (...args: unknown[]) => void): void;
}
const unixDgram = require('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };

/** A connected client socket. */
export function unixClient(path: string): UnixDgramSocket {
  const s = unixDgram.createSocket('unix_dgram');
  s.on('error', (err) => {
    throw err as Error;
  });
  s.connect(path);
  return s;
}

/**
 * Sends every payload in order as fast as the socket takes them: on congestion (the
 * receiver's queue is full, EAGAIN) it waits for `writable` and goes on. Resolves when all
 * were accepted by the kernel.
 */
export function sendAll(s: UnixDgramSocket, payloads: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let i = 0;
    let waits = 0;
    const pump = (): void => {
      while (i < payloads.length) {
        let congested = false;
        let failed: Error | undefined;
        s.send(payloads[i]!, (err) => {
          if (err?.message === 'congestion') congested = true;
          else if (err !== undefined) failed = err;
        });
        if (failed !== undefined) return reject(failed);
        if (congested) {
          waits++;
          return; // resent on 'writable'
        }
        i++;
      }
      resolve(waits);
    };
    s.on('writable', pump);
    pump();
  });
}
