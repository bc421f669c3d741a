import { parseGoFloat } from './go-float.js';
import type {
  EventAlertType,
  EventPriority,
  MetricKind,
  ParseErrorReason,
  ParseResult,
  StatsdEvent,
} from './sample.js';
import type { LineParser } from './line-parser.js';

import { AT, COLON, COMMA, HASH, NUL, PIPE, UNDERSCORE } from './ascii.js';

/** Per-byte action for name normalisation: 0 drop, 1 keep, or the replacement byte. */
const NAME_MAP = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9._-]/.test(ch)) NAME_MAP[c] = 1;
}
NAME_MAP[0x2f] = 0x2d; // '/' -> '-'
NAME_MAP[0x20] = UNDERSCORE; // ' ' -> '_'
NAME_MAP[0x09] = UNDERSCORE; // '\t' -> '_'

const decoder = new TextDecoder('utf-8');

/**
 * Builds a flat one-byte string from byte values. (Appending characters one by one would
 * leave a chain of cons-strings behind every stored name, ~30 bytes per character.)
 */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 1024) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

/** Decodes `bytes[start, end)` as UTF-8 (fast path for ASCII). */
export function utf8(bytes: Uint8Array, start: number, end: number): string {
  if (start >= end) return '';
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) return decoder.decode(bytes.subarray(start, end));
  }
  return latin1(bytes, start, end);
}

const nameScratch = new Uint8Array(4096);

/**
 * Applies gostatsd's name normalisation: keep `[A-Za-z0-9._-]`, `/` becomes `-`, space
 * and tab become `_`, every other byte (including each byte of a multi-byte character)
 * is deleted.
 */
export function normaliseName(bytes: Uint8Array, start: number, end: number): string {
  let i = start;
  while (i < end && NAME_MAP[bytes[i]!] === 1) i++;
  if (i === end) return latin1(bytes, start, end); // already clean: the common case
  const out = end - start <= nameScratch.length ? nameScratch : new Uint8Array(end - start);
  let n = 0;
  for (let j = start; j < end; j++) {
    const c = bytes[j]!;
    const m = NAME_MAP[c]!;
    if (m === 1) out[n++] = c;
    else if (m !== 0) out[n++] = m;
  }
  return latin1(out, 0, n);
}

function splitTags(bytes: Uint8Array, start: number, end: number): string[] {
  const tags: string[] = [];
  let from = start;
  for (let i = start; i <= end; i++) {
    if (i === end || bytes[i] === COMMA) {
      if (i > from) tags.push(utf8(bytes, from, i));
      from = i + 1;
    }
  }
  return tags;
}

function indexOf(bytes: Uint8Array, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (bytes[i] === byte) return i;
  return -1;
}

const fail = (reason: ParseErrorReason): ParseResult => ({ type: 'error', reason });

/**
 * parseStatsdLine is the gostatsd line grammar (see docs/compatibility.md for the few
 * deliberate differences): `name:value|type[|@rate][|#tags]` and `_e{..}` events.
 *
 * A NUL byte ends the line, as it does in the reference lexer.
 */
export const parseStatsdLine: LineParser = (bytes, start, endIn) => {
  let end = endIn;
  const nul = indexOf(bytes, NUL, start, end);
  if (nul >= 0) end = nul;
  if (start >= end) return fail('empty_line');
  if (bytes[start] === UNDERSCORE) {
    if (end - start >= 3 && bytes[start + 1] === 0x65 && bytes[start + 2] === 0x7b) {
      return parseEvent(bytes, start + 3, end);
    }
    return fail('unsupported_line');
  }
  const colon = indexOf(bytes, COLON, start, end);
  if (colon < 0) return fail('malformed_line');
  const name = normaliseName(bytes, start, colon);
  if (name === '') return fail('empty_name');
  const pipe = indexOf(bytes, PIPE, colon + 1, end);
  if (pipe < 0) return fail('malformed_line');

  let p = pipe + 1;
  let kind: MetricKind;
  switch (p < end ? bytes[p] : -1) {
    case 0x63: // c
      kind = 'counter';
      p++;
      break;
    case 0x67: // g
      kind = 'gauge';
      p++;
      break;
    case 0x73: // s
      kind = 'set';
      p++;
      break;
    case 0x68: // h
      kind = 'timer';
      p++;
      break;
    case 0x6d: // m, must be "ms"
      if (bytes[p + 1] !== 0x73 || p + 1 >= end) return fail('invalid_type');
      kind = 'timer';
      p += 2;
      break;
    default:
      return fail('invalid_type');
  }

  let rate = 1;
  let tags: string[] = [];
  if (p < end) {
    if (bytes[p] !== PIPE) return fail('invalid_type');
    p++;
    if (p === end) return fail('invalid_suffix');
    if (bytes[p] === AT) {
      const rateEnd = indexOf(bytes, PIPE, p + 1, end);
      const re = rateEnd < 0 ? end : rateEnd;
      const r = parseGoFloat(bytes, p + 1, re);
      if (r === undefined || !Number.isFinite(r) || r <= 0) return fail('invalid_sample_rate');
      rate = r;
      if (rateEnd >= 0 && rateEnd + 1 < end) {
        if (bytes[rateEnd + 1] !== HASH) return fail('invalid_suffix');
        tags = splitTags(bytes, rateEnd + 2, end);
      }
    } else if (bytes[p] === HASH) {
      tags = splitTags(bytes, p + 1, end);
    } else {
      return fail('invalid_suffix');
    }
  }

  if (kind === 'set') {
    return {
      type: 'metric',
      metric: { kind, name, value: 0, member: utf8(bytes, colon + 1, pipe), rate, tags },
    };
  }
  const value = parseGoFloat(bytes, colon + 1, pipe);
  if (value === undefined || Number.isNaN(value)) return fail('invalid_value');
  if (kind === 'counter' && !Number.isFinite(value)) return fail('invalid_value');
  return { type: 'metric', metric: { kind, name, value, member: '', rate, tags } };
};

/** Reads a decimal uint32 at `p`; returns [value, next] or undefined. */
function readUint32(bytes: Uint8Array, p: number, end: number): [number, number] | undefined {
  let v = 0;
  let digits = 0;
  while (p < end && bytes[p]! >= 0x30 && bytes[p]! <= 0x39) {
    v = v * 10 + (bytes[p]! - 0x30);
    if (v > 0xffffffff) return undefined;
    digits++;
    p++;
  }
  return digits === 0 ? undefined : [v, p];
}

const PRIORITIES: Record<string, EventPriority> = { normal: 'normal', low: 'low' };
const ALERT_TYPES: Record<string, EventAlertType> = {
  info: 'info',
  warning: 'warning',
  error: 'error',
  success: 'success',
};

/** Parses the rest of `_e{<titleLen>,<textLen>}:<title>|<text>[|attr]*` after `_e{`. */
function parseEvent(bytes: Uint8Array, p: number, end: number): ParseResult {
  const at = (i: number): number => (i < end ? bytes[i]! : -1);
  const tl = readUint32(bytes, p, end);
  if (tl === undefined || at(tl[1]) !== COMMA) return fail('malformed_event');
  const xl = readUint32(bytes, tl[1] + 1, end);
  if (xl === undefined || at(xl[1]) !== 0x7d || at(xl[1] + 1) !== COLON) {
    return fail('malformed_event');
  }
  const titleStart = xl[1] + 2;
  const titleEnd = titleStart + tl[0];
  if (at(titleEnd) !== PIPE) return fail('malformed_event');
  const textStart = titleEnd + 1;
  const textEnd = textStart + xl[0];
  if (textEnd > end) return fail('malformed_event');

  const event: {
    -readonly [K in keyof StatsdEvent]: StatsdEvent[K];
  } = {
    title: utf8(bytes, titleStart, titleEnd),
    text: utf8(bytes, textStart, textEnd).replaceAll('\\n', '\n'),
    dateHappened: 0,
    hostname: '',
    aggregationKey: '',
    priority: 'normal',
    sourceTypeName: '',
    alertType: 'info',
    tags: [],
  };

  let q = textEnd;
  while (q < end) {
    if (bytes[q] !== PIPE) return fail('malformed_event');
    q++;
    if (q === end) break; // a dangling '|' is tolerated
    if (bytes[q] === HASH) {
      event.tags = splitTags(bytes, q + 1, end);
      break;
    }
    const letter = bytes[q];
    if (at(q + 1) !== COLON) return fail('malformed_event');
    const valStart = q + 2;
    let valEnd = indexOf(bytes, PIPE, valStart, end);
    if (valEnd < 0) valEnd = end;
    const value = utf8(bytes, valStart, valEnd);
    switch (letter) {
      case 0x64: {
        // d: unix seconds
        if (!/^\d+$/.test(value)) return fail('malformed_event');
        event.dateHappened = Number(value);
        break;
      }
      case 0x68:
        event.hostname = value;
        break;
      case 0x6b:
        event.aggregationKey = value;
        break;
      case 0x70: {
        const pr = PRIORITIES[value];
        if (pr === undefined) return fail('malformed_event');
        event.priority = pr;
        break;
      }
      case 0x73:
        event.sourceTypeName = value;
        break;
      case 0x74: {
        const at = ALERT_TYPES[value];
        if (at === undefined) return fail('malformed_event');
        event.alertType = at;
        break;
      }
      default:
        return fail('malformed_event');
    }
    q = valEnd;
  }
  return { type: 'event', event };
}

/** Convenience wrapper for tests and tools: parses a JS string as UTF-8 bytes. */
export function parseLineString(line: string): ParseResult {
  const bytes = Buffer.from(line, 'utf8');
  return parseStatsdLine(bytes, 0, bytes.length);
}
