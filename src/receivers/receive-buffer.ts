import type { KeySpec } from '../shared/config-key.js';
import type { Logger } from '../shared/logger.js';

/**
 * The receive buffer the kernel granted a socket, from what getsockopt(SO_RCVBUF) reports.
 * Linux grants min(request, net.core.rmem_max) and reports twice that (the second half is
 * its bookkeeping), so the granted size is half the reported one there.
 */
export function grantedReceiveBuffer(reportedBytes: number, platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' ? Math.floor(reportedBytes / 2) : reportedBytes;
}

/**
 * Warns, once at start-up, when a socket got a smaller receive buffer than
 * `receive-buffer-size` asked for, with the sysctl that lets the kernel grant it. Silent
 * when the buffer is as large as requested. Returns the granted size.
 */
export function checkReceiveBuffer(
  logger: Logger,
  transport: 'udp' | 'unix',
  requestedBytes: number,
  reportedBytes: number,
  platform: NodeJS.Platform = process.platform,
): number {
  const granted = grantedReceiveBuffer(reportedBytes, platform);
  if (reportedBytes > 0 && granted < requestedBytes) {
    const sysctl = `sysctl -w net.core.rmem_max=${requestedBytes}`;
    logger.warn(
      { requestedBytes, grantedBytes: granted, reportedBytes, sysctl },
      `${transport} receive buffer smaller than requested: the kernel granted ${granted} of ${requestedBytes} bytes ` +
        `(net.core.rmem_max caps it); run "${sysctl}" on the node, or lower receive-buffer-size`,
    );
  }
  return granted;
}

/** `receive-buffer-size`, read by the UDP and the Unix socket receivers. */
export const RECEIVE_BUFFER_KEY: KeySpec = {
  key: 'receive-buffer-size',
  type: 'bytes',
  default: '8MiB',
  max: 2 ** 31 - 1,
  group: 'Listeners',
  reload: 'restart',
  describe: 'Requested socket receive buffer of the UDP and Unix socket receivers (capped by net.core.rmem_max)',
};
