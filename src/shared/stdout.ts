import { fstatSync } from 'node:fs';
import net from 'node:net';

/**
 * Standard output for the stdout backend that never blocks the event loop. Node writes
 * `process.stdout` synchronously when it is a pipe (on Linux) or a file, so a reader that
 * stops reading would freeze the whole daemon, receivers included. For a pipe or socket
 * this opens fd 1 as a non-blocking stream instead: writes queue, `drain` reports when the
 * reader catches up, and the backend applies its deadline. Files and terminals keep
 * `process.stdout` (they do not stall).
 */
export function nonBlockingStdout(): NodeJS.WritableStream {
  try {
    const st = fstatSync(1);
    if (st.isFIFO() || st.isSocket()) {
      const s = new net.Socket({ fd: 1, readable: false, writable: true });
      s.on('error', () => undefined); // EPIPE when the reader goes away: the backend counts failed writes
      return s;
    }
  } catch {
    // fd 1 closed or not inspectable: fall back
  }
  return process.stdout;
}
