/**
 * Credentials kept out of logs. A failing peer's answer is logged, and a peer that echoes
 * the request (a proxy, a misconfigured endpoint) would otherwise put the request's own
 * credentials in the log.
 */

/** Request headers whose values are not secret; every other header value a backend sets is. */
const PLAIN_HEADERS = new Set([
  'content-type',
  'content-encoding',
  'content-length',
  'accept',
  'accept-encoding',
  'user-agent',
  'x-prometheus-remote-write-version',
]);

/** Shorter values are not redacted: they would blank ordinary words, and are not credentials. */
const MIN_SECRET_CHARS = 4;

const REDACTED = '[REDACTED]';

/**
 * The secrets a request carries: every header value but the plain ones, and for an
 * `Authorization` header its credentials too (a bearer token, basic auth's base64 and the
 * `user:password` and password it encodes), longest first.
 */
export function secretsOf(headers: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (PLAIN_HEADERS.has(name.toLowerCase())) continue;
    out.add(value);
    const scheme = /^\s*(\S+)\s+(\S+)\s*$/.exec(value);
    if (scheme === null) continue;
    out.add(scheme[2]!);
    if (scheme[1]!.toLowerCase() === 'basic') {
      const decoded = Buffer.from(scheme[2]!, 'base64').toString('utf8');
      out.add(decoded);
      const colon = decoded.indexOf(':');
      if (colon >= 0) out.add(decoded.slice(colon + 1));
    }
  }
  return [...out].filter((s) => s.length >= MIN_SECRET_CHARS).sort((a, b) => b.length - a.length);
}

/**
 * `text` with every occurrence of a secret replaced by `[REDACTED]`, and a tail that could be
 * the start of a cut-off secret removed (the text may be the first bytes of a longer body).
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  for (const s of secrets) {
    for (let k = Math.min(s.length - 1, out.length); k >= MIN_SECRET_CHARS; k--) {
      if (out.endsWith(s.slice(0, k))) {
        out = out.slice(0, out.length - k) + REDACTED;
        break;
      }
    }
  }
  return out;
}
