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
}

/**
 * The fast entry point of the StatsD grammar: scans the line that starts at `p` once,
 * without parsing it, and fills `out`: the line's parts and the hash of its identity, so a
 * caller can recognise a series it has seen. {@link plainValue} then reads the value the
 * way {@link parseStatsdLine} would, when it is a plain decimal. Anything these do not
 * recognise is the full parser's (`colon === -1`, a NaN value); a differential property
 * test keeps them equal. Kept small so that the JIT inlines it into the ingest loop.
 */
export function scanLine(bytes: Uint8Array, p: number, limit: number, seed: number, out: LineScan): void {
  let h = seed;
  let i = p;
  let colon = -1;
  let pipe = -1;
  // `_e{…}` events and empty lines are the full parser's: no name to scan.
  if (bytes[p] !== UNDERSCORE) {
    for (; i < limit; i++) {
      const c = bytes[i]!;
      if (c === COLON) {
        colon = i;
        break;
      }
      if (c === NEWLINE) break;
      h = Math.imul(h ^ c, PRIME);
    }
  }
  if (colon >= 0) {
    for (i = colon + 1; i < limit; i++) {
      const c = bytes[i]!;
      if (c === PIPE) {
        pipe = i;
        break;
      }
      if (c === NEWLINE) break;
    }
  }
  if (pipe < 0) colon = -1;
  else
    for (i = pipe; i < limit; i++) {
      const c = bytes[i]!;
      if (c === NEWLINE) break;
      h = Math.imul(h ^ c, PRIME);
    }
  while (i < limit && bytes[i] !== NEWLINE) i++;
  out.end = i;
  out.colon = colon;
  out.pipe = pipe;
  out.hash = h;
}

/**
 * The value `bytes[start, end)` when it is a plain decimal (`[+-]digits[.digits]`, at most
 * 15 digits), exactly as the full parser reads it; NaN for anything else (exponents,
 * `inf`, long or empty values), which the full parser then handles.
 */
export function plainValue(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (bytes[i] === MINUS) {
    negative = true;
    i++;
  } else if (bytes[i] === PLUS) i++;
  let mantissa = 0;
  let digits = 0;
  let fraction = -1; // digits before the `.`, or -1 without one
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
    } else if (c === DOT && fraction < 0) fraction = digits;
    else return NaN;
  }
  if (digits === 0 || digits > 15) return NaN;
  const v = fraction < 0 || fraction === digits ? mantissa : mantissa / POW10[digits - fraction]!;
  return negative ? -v : v;
}

/**
 * A set member as the full parser reads it: the value `bytes[start, end)` as text, or
 * undefined when it holds a NUL byte (which ends a line in the reference lexer).
 */
export function plainMember(bytes: Uint8Array, start: number, end: number): string | undefined {
  for (let q = start; q < end; q++) if (bytes[q] === NUL) return undefined;
  return utf8(bytes, start, end);
}
