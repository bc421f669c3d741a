import { COLON, DOT, MINUS, NEWLINE, NUL, PIPE, PLUS, UNDERSCORE } from './ascii.js';
import { FNV_PRIME } from '../shared/hash.js';
import { utf8 } from './statsd-line-parser.js';

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);
// A module-local copy: the per-byte loop reading an imported binding instead (a module
// variable load and an initialisation check per byte) costs ~15 % of the ingest rate.
const PRIME = FNV_PRIME;

/**
 * Where the parts of one line are, as found by {@link scanLine}. One object is reused for
 * every line (no allocation per line):
 *
 * ```
 *   envoy.cluster.x.upstream_rq:17|c|@0.5|#a:b\n
 *   ^start                     ^colon
 *                                 ^pipe       ^end
 *   identity bytes = [start, colon) + [pipe, end)   (everything but the value)
 * ```
 */
export class LineScan {
  /** The line's end: its `\n`, or the limit of the datagram. */
  end = 0;
  /** The first `:`; -1 when the line is not of the `name:value|…` form (events, garbage, …). */
  colon = -1;
  /** The first `|` after the value; -1 as for `colon`. */
  pipe = -1;
  /** FNV-1a of the identity bytes, continued from the caller's seed (e.g. the sender's hash). */
  hash = 0;
  /** The value when it is a plain decimal (`[+-]digits[.digits]`, at most 15 digits), else NaN. */
  value = NaN;
}

/**
 * The fast entry point of the StatsD grammar: scans the line that starts at `p` once,
 * without parsing it, and fills `out`. It finds the line's parts and hashes its identity
 * (so a caller can recognise a series it has seen), and parses the value when it is a
 * plain decimal, as {@link parseStatsdLine} would. Anything it does not recognise it
 * leaves to the full parser (`colon === -1` or `value` NaN): the two are kept equal by a
 * differential property test.
 */
export function scanLine(bytes: Uint8Array, p: number, limit: number, seed: number, out: LineScan): void {
  out.colon = -1;
  out.pipe = -1;
  out.value = NaN;
  let i = p;
  const first = bytes[p];
  // `_e{…}` events and empty lines are the full parser's.
  if (first === NEWLINE || first === UNDERSCORE) {
    out.end = lineEnd(bytes, p, limit);
    return;
  }
  let h = seed;
  for (; i < limit; i++) {
    const c = bytes[i]!;
    if (c === COLON || c === NEWLINE) break;
    h = Math.imul(h ^ c, PRIME);
  }
  if (i >= limit || bytes[i] !== COLON) {
    out.end = lineEnd(bytes, i, limit);
    return;
  }
  const colon = i++;
  let negative = false;
  if (bytes[i] === MINUS) {
    negative = true;
    i++;
  } else if (bytes[i] === PLUS) i++;
  let mantissa = 0;
  let digits = 0;
  let fraction = -1; // digits before the `.`, or -1 without one
  for (; i < limit; i++) {
    const c = bytes[i]!;
    if (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
    } else if (c === DOT && fraction < 0) fraction = digits;
    else break;
  }
  const plain = digits > 0 && digits <= 15 && i < limit && bytes[i] === PIPE;
  if (!plain) {
    for (; i < limit; i++) {
      const c = bytes[i]!;
      if (c === PIPE || c === NEWLINE) break;
    }
  }
  if (i >= limit || bytes[i] !== PIPE) {
    out.end = lineEnd(bytes, i, limit);
    return;
  }
  const pipe = i;
  for (; i < limit; i++) {
    const c = bytes[i]!;
    if (c === NEWLINE) break;
    h = Math.imul(h ^ c, PRIME);
  }
  out.end = i;
  out.colon = colon;
  out.pipe = pipe;
  out.hash = h;
  if (plain) {
    const v = fraction < 0 || fraction === digits ? mantissa : mantissa / POW10[digits - fraction]!;
    out.value = negative ? -v : v;
  }
}

/**
 * A set member as the full parser reads it: the value bytes `[colon + 1, pipe)` as text,
 * or undefined when they hold a NUL byte (which ends a line in the reference lexer).
 */
export function plainMember(bytes: Uint8Array, scan: LineScan): string | undefined {
  for (let q = scan.colon + 1; q < scan.pipe; q++) if (bytes[q] === NUL) return undefined;
  return utf8(bytes, scan.colon + 1, scan.pipe);
}

function lineEnd(bytes: Uint8Array, from: number, limit: number): number {
  let end = from;
  while (end < limit && bytes[end] !== NEWLINE) end++;
  return end;
}
