import { parseGoFloat } from './go-float.js';
import type {
  EventAlertType,
  EventPriority,
  MetricKind,
  ParsedMetric,
  ParseErrorReason,
  ParseResult,
  ServiceCheck,
  ServiceCheckStatus,
  StatsdEvent,
} from './sample.js';
import type { LineParser } from './line-parser.js';
import { MAX_NAME_BYTES } from './sample.js';

import { AT, COLON, COMMA, HASH, MINUS, NUL, PIPE, PLUS, UNDERSCORE } from './ascii.js';

/** Per-byte action for name normalisation: 0 drop, 1 keep, or the replacement byte. */
function nameMap(keepPipes: boolean): Uint8Array {
  const map = new Uint8Array(256);
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    if (/[A-Za-z0-9._-]/.test(ch)) map[c] = 1;
  }
  map[0x2f] = 0x2d; // '/' -> '-'
  map[0x20] = UNDERSCORE; // ' ' -> '_'
  map[0x09] = UNDERSCORE; // '\t' -> '_'
  if (keepPipes) map[PIPE] = 1;
  return map;
}
const NAME_MAP = nameMap(false);
/** With `istio-names`: `|` is kept, as in Istio's cluster names (`outbound|9080||reviews…`). */
const ISTIO_NAME_MAP = nameMap(true);

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
 * is deleted. `map` may keep more (`istio-names` keeps `|`).
 */
/** Whether normalisation changes `bytes[start, end)` (a byte is dropped or replaced). */
function renamed(bytes: Uint8Array, start: number, end: number, map: Uint8Array): boolean {
  for (let i = start; i < end; i++) if (map[bytes[i]!] !== 1) return true;
  return false;
}

export function normaliseName(bytes: Uint8Array, start: number, end: number, map: Uint8Array = NAME_MAP): string {
  let i = start;
  while (i < end && map[bytes[i]!] === 1) i++;
  if (i === end) return latin1(bytes, start, end); // already clean: the common case
  const out = end - start <= nameScratch.length ? nameScratch : new Uint8Array(end - start);
  let n = 0;
  for (let j = start; j < end; j++) {
    const c = bytes[j]!;
    const m = map[c]!;
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

const fail = (reason: ParseErrorReason, at: number): ParseResult => ({ type: 'error', reason, at });

const NO_VALUES: readonly number[] = Object.freeze([]);
const LETTER_C = 0x63;
const LETTER_E = 0x65;
const LETTER_T = 0x54;

/**
 * Whether a DogStatsD field starts at `p` (just after a `|`): `c:` (container id), `e:`
 * (external data), `card:` (cardinality) or `T<digit>` (timestamp). Tags end at the `|`
 * before one of these; any other `|` stays inside the tags, as in the reference.
 */
function isFieldStart(bytes: Uint8Array, p: number, end: number): boolean {
  const c = p < end ? bytes[p] : -1;
  if (c === LETTER_C || c === LETTER_E) {
    if (p + 1 < end && bytes[p + 1] === COLON) return true;
    return (
      c === LETTER_C &&
      end - p >= 5 &&
      bytes[p + 1] === 0x61 &&
      bytes[p + 2] === 0x72 &&
      bytes[p + 3] === 0x64 &&
      bytes[p + 4] === COLON
    );
  }
  return c === LETTER_T && p + 1 < end && bytes[p + 1]! >= 0x30 && bytes[p + 1]! <= 0x39;
}

/** Reads an unsigned decimal `bytes[start, end)`; NaN unless it is 1–15 digits only. */
function readDigits(bytes: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 15) return NaN;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) return NaN;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** Options of {@link createStatsdLineParser}. */
export interface StatsdLineParserOptions {
  /** `istio-names`: keep `|` inside metric names instead of deleting it. */
  keepPipesInNames?: boolean;
}

/**
 * The StatsD line grammar of the reference (gostatsd; see docs/compatibility.md for the
 * few deliberate differences), extended to DogStatsD 1.3:
 *
 * - `name:value|type[|@rate][|#tags]`, type `c g s ms h` and `d` (a distribution,
 *   aggregated as a timer);
 * - packed values `name:1:2:3|type` (not sets), each sampled at the line's rate;
 * - after the type, fields in any order: `@rate`, `#tags`, `c:<container id>`,
 *   `e:<external data>`, `card:<cardinality>`, `T<unix seconds>`; an unknown field is
 *   skipped and counted (`skippedFields`), never fatal;
 * - `_e{..}` events and `_sc|…` service checks.
 *
 * A NUL byte ends the line, as it does in the reference lexer.
 */
export function createStatsdLineParser(opts: StatsdLineParserOptions = {}): LineParser {
  const map = opts.keepPipesInNames === true ? ISTIO_NAME_MAP : NAME_MAP;
  return (bytes, start, endIn) => parseLine(bytes, start, endIn, map);
}

function parseLine(bytes: Uint8Array, start: number, endIn: number, map: Uint8Array): ParseResult {
  let end = endIn;
  const nul = indexOf(bytes, NUL, start, end);
  if (nul >= 0) end = nul;
  if (start >= end) return fail('empty_line', start);
  if (bytes[start] === UNDERSCORE) {
    if (end - start >= 3 && bytes[start + 1] === 0x65 && bytes[start + 2] === 0x7b) {
      return parseEvent(bytes, start + 3, end);
    }
    if (end - start >= 4 && bytes[start + 1] === 0x73 && bytes[start + 2] === 0x63 && bytes[start + 3] === PIPE) {
      return parseServiceCheck(bytes, start + 4, end);
    }
    return fail('unsupported_line', start);
  }
  const colon = indexOf(bytes, COLON, start, end);
  if (colon < 0) return fail('malformed_line', end);
  if (colon - start > MAX_NAME_BYTES) return fail('name_too_long', start + MAX_NAME_BYTES);
  const name = normaliseName(bytes, start, colon, map);
  if (name === '') return fail('empty_name', start);
  const rawName = renamed(bytes, start, colon, map) ? utf8(bytes, start, colon) : '';
  const pipe = indexOf(bytes, PIPE, colon + 1, end);
  if (pipe < 0) return fail('malformed_line', end);

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
    case 0x64: // d: a distribution, aggregated as a timer
      kind = 'timer';
      p++;
      break;
    case 0x6d: // m, must be "ms"
      if (bytes[p + 1] !== 0x73 || p + 1 >= end) return fail('invalid_type', p);
      kind = 'timer';
      p += 2;
      break;
    default:
      return fail('invalid_type', p);
  }

  let rate = 1;
  let tags: string[] = [];
  let timestamp = 0;
  let containerId = '';
  let skippedFields = 0;
  if (p < end) {
    if (bytes[p] !== PIPE) return fail('invalid_type', p);
    if (p + 1 === end) return fail('invalid_suffix', p + 1);
    let sawRate = false;
    // Each turn: bytes[p] is the `|` before a field.
    while (p < end) {
      const f = p + 1;
      if (f === end) break; // a dangling `|` after a field is tolerated
      let next = indexOf(bytes, PIPE, f, end);
      const c = bytes[f];
      if (c === AT) {
        if (sawRate) return fail('invalid_suffix', f);
        sawRate = true;
        const re = next < 0 ? end : next;
        const r = parseGoFloat(bytes, f + 1, re);
        if (r === undefined || !Number.isFinite(r) || r <= 0) return fail('invalid_sample_rate', f + 1);
        rate = r;
      } else if (c === HASH) {
        // Tags run to the end of the line, or to a `|` that starts a DogStatsD field.
        while (next >= 0 && !isFieldStart(bytes, next + 1, end)) next = indexOf(bytes, PIPE, next + 1, end);
        tags = splitTags(bytes, f + 1, next < 0 ? end : next);
      } else if ((c === LETTER_C || c === LETTER_E) && f + 1 < end && bytes[f + 1] === COLON) {
        if (c === LETTER_C) containerId = utf8(bytes, f + 2, next < 0 ? end : next);
      } else if (c === LETTER_T && f + 1 < end && bytes[f + 1]! >= 0x30 && bytes[f + 1]! <= 0x39) {
        const ts = readDigits(bytes, f + 1, next < 0 ? end : next);
        if (ts === ts) timestamp = ts;
        else skippedFields++;
      } else if (!isFieldStart(bytes, f, end)) skippedFields++; // card:… is known and unused
      if (next < 0) break;
      p = next;
    }
  }

  if (kind === 'set') {
    const metric: ParsedMetric = {
      kind,
      name,
      rawName,
      value: 0,
      member: utf8(bytes, colon + 1, pipe),
      rate,
      tags,
      extraValues: NO_VALUES,
      timestamp,
      containerId,
      skippedFields,
      signed: false,
    };
    return { type: 'metric', metric };
  }
  // Packed values (DogStatsD 1.1): `name:1:2:3|type`. An empty last one (`name:1:2:|ms`,
  // a client's trailing separator) is skipped, as gostatsd and the DataDog agent skip it;
  // an empty one elsewhere makes the line invalid.
  let valueEnd = indexOf(bytes, COLON, colon + 1, pipe);
  let value: number | undefined;
  let extraValues = NO_VALUES;
  if (valueEnd < 0) value = readValue(bytes, colon + 1, pipe, kind);
  else {
    const values: number[] = [];
    for (let from = colon + 1; ;) {
      const to = valueEnd < 0 ? pipe : valueEnd;
      if (to > from || valueEnd >= 0) {
        const v = readValue(bytes, from, to, kind);
        if (v === undefined) return fail('invalid_value', from);
        values.push(v);
      }
      if (valueEnd < 0) break;
      from = valueEnd + 1;
      valueEnd = indexOf(bytes, COLON, from, pipe);
    }
    value = values[0];
    if (values.length > 1) extraValues = values.slice(1);
  }
  if (value === undefined) return fail('invalid_value', colon + 1);
  const metric: ParsedMetric = {
    kind,
    name,
    rawName,
    value,
    member: '',
    rate,
    tags,
    extraValues,
    timestamp,
    containerId,
    skippedFields,
    signed: bytes[colon + 1] === PLUS || bytes[colon + 1] === MINUS,
  };
  return { type: 'metric', metric };
}

/** One value of a metric line, or undefined when invalid (NaN, not a number, infinite counter). */
function readValue(bytes: Uint8Array, start: number, end: number, kind: MetricKind): number | undefined {
  const v = parseGoFloat(bytes, start, end);
  if (v === undefined || Number.isNaN(v)) return undefined;
  if (kind === 'counter' && !Number.isFinite(v)) return undefined;
  return v;
}

/** The daemon's default grammar (names normalised as the reference does). */
export const parseStatsdLine: LineParser = createStatsdLineParser();

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
  if (tl === undefined || at(tl[1]) !== COMMA) return fail('malformed_event', p);
  const xl = readUint32(bytes, tl[1] + 1, end);
  if (xl === undefined || at(xl[1]) !== 0x7d || at(xl[1] + 1) !== COLON) {
    return fail('malformed_event', tl[1] + 1);
  }
  const titleStart = xl[1] + 2;
  const titleEnd = titleStart + tl[0];
  if (at(titleEnd) !== PIPE) return fail('malformed_event', Math.min(titleEnd, end));
  const textStart = titleEnd + 1;
  const textEnd = textStart + xl[0];
  if (textEnd > end) return fail('malformed_event', textStart);

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
    if (bytes[q] !== PIPE) return fail('malformed_event', q);
    q++;
    if (q === end) break; // a dangling '|' is tolerated
    if (bytes[q] === HASH) {
      // Tags run to the end, or to a `|` that starts a DogStatsD field (as on metric lines).
      let tagsEnd = indexOf(bytes, PIPE, q + 1, end);
      while (tagsEnd >= 0 && !isFieldStart(bytes, tagsEnd + 1, end)) tagsEnd = indexOf(bytes, PIPE, tagsEnd + 1, end);
      event.tags = splitTags(bytes, q + 1, tagsEnd < 0 ? end : tagsEnd);
      if (tagsEnd < 0) break;
      q = tagsEnd;
      continue;
    }
    if (isFieldStart(bytes, q, end)) {
      // DogStatsD 1.2 fields (c:, e:, card:): accepted, not used for events.
      const next = indexOf(bytes, PIPE, q, end);
      if (next < 0) break;
      q = next;
      continue;
    }
    const letter = bytes[q];
    if (at(q + 1) !== COLON) return fail('malformed_event', q);
    const valStart = q + 2;
    let valEnd = indexOf(bytes, PIPE, valStart, end);
    if (valEnd < 0) valEnd = end;
    const value = utf8(bytes, valStart, valEnd);
    switch (letter) {
      case 0x64: {
        // d: unix seconds
        if (!/^\d+$/.test(value)) return fail('malformed_event', valStart);
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
        if (pr === undefined) return fail('malformed_event', valStart);
        event.priority = pr;
        break;
      }
      case 0x73:
        event.sourceTypeName = value;
        break;
      case 0x74: {
        const at = ALERT_TYPES[value];
        if (at === undefined) return fail('malformed_event', valStart);
        event.alertType = at;
        break;
      }
      default:
        return fail('malformed_event', q);
    }
    q = valEnd;
  }
  return { type: 'event', event };
}

/**
 * Parses the rest of `_sc|<name>|<status>[|d:<ts>][|h:<host>][|#tags][|c:…][|e:…][|m:<message>]`
 * after `_sc|`. `m:` runs to the end of the line (a message may hold `|`); other unknown
 * fields are skipped.
 */
function parseServiceCheck(bytes: Uint8Array, p: number, end: number): ParseResult {
  const nameEnd = indexOf(bytes, PIPE, p, end);
  if (nameEnd <= p) return fail('malformed_service_check', p);
  const statusEnd = indexOf(bytes, PIPE, nameEnd + 1, end);
  const se = statusEnd < 0 ? end : statusEnd;
  const digit = se - nameEnd === 2 ? bytes[nameEnd + 1]! - 0x30 : -1;
  if (digit < 0 || digit > 3) return fail('malformed_service_check', nameEnd + 1);
  const check: { -readonly [K in keyof ServiceCheck]: ServiceCheck[K] } = {
    name: utf8(bytes, p, nameEnd),
    status: digit as ServiceCheckStatus,
    timestamp: 0,
    hostname: '',
    message: '',
    tags: [],
  };
  let q = se;
  while (q < end) {
    const f = q + 1; // bytes[q] is `|`
    if (f >= end) break;
    if (bytes[f] === 0x6d && f + 1 < end && bytes[f + 1] === COLON) {
      check.message = utf8(bytes, f + 2, end);
      break;
    }
    const next = indexOf(bytes, PIPE, f, end);
    const fe = next < 0 ? end : next;
    if (bytes[f] === HASH) check.tags = splitTags(bytes, f + 1, fe);
    else if (bytes[f] === 0x64 && bytes[f + 1] === COLON) {
      // A timestamp that is not a number is ignored (the check is kept), as the DataDog agent does.
      const ts = readDigits(bytes, f + 2, fe);
      if (ts === ts) check.timestamp = ts;
    } else if (bytes[f] === 0x68 && bytes[f + 1] === COLON) check.hostname = utf8(bytes, f + 2, fe);
    q = fe;
  }
  return { type: 'check', check };
}

/** Convenience wrapper for tests and tools: parses a JS string as UTF-8 bytes. */
export function parseLineString(line: string): ParseResult {
  const bytes = Buffer.from(line, 'utf8');
  return parseStatsdLine(bytes, 0, bytes.length);
}
