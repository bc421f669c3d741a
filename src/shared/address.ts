/** A parsed `host:port` listen or destination address. */
export interface HostPort {
  /** Host name or IP literal without brackets; `''` means every interface. */
  host: string;
  port: number;
}

/**
 * Parses Go-style addresses: `:8125`, `127.0.0.1:8125`, `[::1]:8125`, `localhost:8125`.
 * Returns an error message instead of throwing.
 */
export function parseHostPort(text: string): HostPort | string {
  const idx = text.lastIndexOf(':');
  if (idx < 0) return `"${text}" is not host:port (missing ":port")`;
  let host = text.slice(0, idx);
  const portText = text.slice(idx + 1);
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return `"${text}" has an unterminated "[" in the host`;
    host = host.slice(1, -1);
  } else if (host.includes(':')) {
    return `"${text}" is ambiguous: write IPv6 hosts in brackets, e.g. [::1]:8125`;
  }
  if (!/^\d{1,5}$/.test(portText)) return `"${text}" has an invalid port "${portText}"`;
  const port = Number(portText);
  if (port > 65535) return `"${text}" has port ${port}, above 65535`;
  return { host, port };
}
