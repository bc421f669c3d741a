import { readFileSync } from 'node:fs';

/**
 * Datagrams the kernel dropped on the UDP socket(s) bound to local `port` because the
 * receive buffer was full: the `drops` column of /proc/net/udp and /proc/net/udp6 (of the
 * process's network namespace, i.e. the pod's). Undefined where those files do not exist.
 */
export function udpKernelDrops(port: number, procNet = '/proc/net'): number | undefined {
  let found = false;
  let drops = 0;
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['udp', 'udp6']) {
    let text: string;
    try {
      text = readFileSync(`${procNet}/${file}`, 'latin1');
    } catch {
      continue;
    }
    found = true;
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
      if (cols.length < 13) continue;
      const local = cols[1]!;
      if (local.slice(local.lastIndexOf(':') + 1) !== hexPort) continue;
      const n = Number(cols[cols.length - 1]);
      if (Number.isFinite(n)) drops += n;
    }
  }
  return found ? drops : undefined;
}
