import type { TimerHistogramWire } from '../shared/timer-histogram-wire.js';
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';
import type { EventAlertType, EventPriority, StatsdEvent } from '../parser/sample.js';
import { CHUNK_SERIES } from '../shared/cooperative.js';
import { protoTypes } from '../shared/protobuf.js';

const require = createRequire(import.meta.url);

/**
 * The gostatsd HTTP forwarding protocol: the messages of `proto/gostatsd.proto`
 * (`RawMessageV2` on `POST /v2/raw`, `EventV2` on `POST /v2/event`), encoded and decoded
 * by protobufjs from that file. Field names are the schema's.
 */

/** An int64 as protobufjs decodes it: a number, or a Long when the value needs 64 bits. */
export type Int64 = number | { toNumber(): number };

export interface RawCounter {
  Tags: string[];
  Hostname: string;
  /** The interval's sum, each sample already divided by its rate. */
  Value: Int64;
}
export interface RawGauge {
  Tags: string[];
  Hostname: string;
  Value: number;
}
export interface RawSet {
  Tags: string[];
  Hostname: string;
  Values: string[];
}
export type { TimerHistogramWire } from '../shared/timer-histogram-wire.js';

export interface RawTimer {
  Tags: string[];
  Hostname: string;
  /** Sum of 1/rate over the samples. */
  SampleCount: number;
  Values: number[];
  /** statsd-sepagent's extension: the interval folded into a histogram (Values are then representatives). */
  Histogram?: TimerHistogramWire | null;
}

/** Per metric name, per tags key: one raw value. */
export type TagMaps<T> = Record<string, { TagMap: Record<string, T | null> } | null>;

/** `RawMessageV2`: one forwarded interval. A decoded map entry may be null (no value on the wire). */
export interface RawMessage {
  Counters: TagMaps<RawCounter>;
  Gauges: TagMaps<RawGauge>;
  Sets: TagMaps<RawSet>;
  Timers: TagMaps<RawTimer>;
}

/** `EventV2`. Priority: 0 normal, 1 low. Type: 0 info, 1 warning, 2 error, 3 success. */
export interface EventMessage {
  Title: string;
  Text: string;
  DateHappened: Int64;
  Hostname: string;
  AggregationKey: string;
  SourceTypeName: string;
  Tags: string[];
  SourceIP: string;
  Priority: number;
  Type: number;
}

/** The message types, loaded on first use. */
const load = protoTypes(new URL('../../proto/gostatsd.proto', import.meta.url), {
  raw: 'pb.RawMessageV2',
  event: 'pb.EventV2',
  counter: 'pb.RawCounterV2',
  gauge: 'pb.RawGaugeV2',
  set: 'pb.RawSetV2',
  timer: 'pb.RawTimerV2',
});

/**
 * Loads protobufjs and the schema now (tens of milliseconds), so a receiver pays it at
 * start rather than in the middle of its first request.
 */
export function loadWireTypes(): void {
  load();
}

/** Encodes a `RawMessageV2`. Maps should be null-prototype objects (a name may be `__proto__`). */
export function encodeRawMessage(m: Partial<RawMessage>): Uint8Array {
  const t = load().raw;
  return t.encode(m).finish();
}

/** Decodes a `RawMessageV2`; throws on bytes that are not one. */
export function decodeRawMessage(bytes: Uint8Array): RawMessage {
  return load().raw.decode(bytes) as unknown as RawMessage;
}

/** Caps on what one forwarded message may make the daemon decode and merge. */
export interface ForwardedLimits {
  /** Series (name and tags key) per message; the rest are counted, not decoded. */
  maxSeries: number;
  /** Tags per series. */
  maxTags: number;
  /** Values of a timer, members of a set. */
  maxValues: number;
}

/** Why a forwarded series was not decoded. */
export type ForwardedCapReason = 'too_many_series' | 'too_many_tags' | 'too_many_values';

/** The map of `RawMessageV2` each field number holds, and the leaf message type of its entries. */
const KINDS = [undefined, 'Counters', 'Gauges', 'Sets', 'Timers'] as const;
const LEAF_TYPES = [undefined, 'counter', 'gauge', 'set', 'timer'] as const;

/** One series of a message, located in its bytes. */
interface Leaf {
  field: 1 | 2 | 3 | 4;
  name: string;
  tagsKey: string;
  start: number;
  end: number;
}

/**
 * Decodes a `RawMessageV2` a part at a time within `limits`, for a receiver that must not
 * let one request take the memory or the event loop: decoding a message whole would make
 * a 92 KB deflate body of repeated zeros a timer of 8 million values.
 *
 * Protobuf messages merge when concatenated, so a map field of the message is a sequence of
 * entries that protobufjs's Reader can walk without decoding them. First every series is
 * located and its tags and values counted, stopping at a cap (framing errors throw here,
 * before anything is handed on, so a body that is not a message merges nothing); series
 * over a cap (or, once decoded, not their message: `invalid_value`) are passed to `rejected`. Then each series is decoded by protobufjs and
 * handed on in parts of at most {@link CHUNK_SERIES} series, as `RawMessage`s whose maps
 * have no prototype. The generator yields between slices, for runChunked.
 */
export function* decodeRawMessageParts(
  bytes: Uint8Array,
  limits: ForwardedLimits,
  rejected: (reason: ForwardedCapReason | 'invalid_value') => void,
  part: (m: RawMessage) => void,
): Generator<void, void> {
  const types = load();
  const { Reader } = require('protobufjs') as typeof Protobuf;
  const leaves: Leaf[] = [];
  const r = Reader.create(bytes);
  let seen = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field < 1 || field > 4 || (tag & 7) !== 2) {
      r.skipType(tag & 7); // an unknown field, skipped as a decoder does
      continue;
    }
    const entry = mapEntry(r);
    // The value: `map<string, RawXV2> TagMap = 1`.
    const v = Reader.create(bytes.subarray(0, entry.end));
    v.pos = entry.start;
    while (v.pos < v.len) {
      const t = v.uint32();
      if (t !== 0x0a) {
        v.skipType(t & 7);
        continue;
      }
      const { key: tagsKey, start, end } = mapEntry(v);
      if (++seen % CHUNK_SERIES === 0) yield;
      if (leaves.length >= limits.maxSeries) rejected('too_many_series');
      else {
        const over = overCap(bytes, start, end, field as Leaf['field'], limits);
        if (over !== undefined) rejected(over);
        else leaves.push({ field: field as Leaf['field'], name: entry.key, tagsKey, start, end });
      }
    }
  }
  for (let i = 0; i < leaves.length; i += CHUNK_SERIES) {
    const m: RawMessage = { Counters: bare(), Gauges: bare(), Sets: bare(), Timers: bare() };
    for (const leaf of leaves.slice(i, i + CHUNK_SERIES)) {
      let decoded: unknown;
      try {
        decoded = types[LEAF_TYPES[leaf.field]].decode(bytes.subarray(leaf.start, leaf.end));
      } catch {
        // Framed right, but not the series' message: that series alone is skipped.
        rejected('invalid_value');
        continue;
      }
      const map = m[KINDS[leaf.field]] as TagMaps<unknown>;
      const byTags = (map[leaf.name] ??= { TagMap: bare() });
      byTags.TagMap[leaf.tagsKey] = decoded;
    }
    part(m);
    yield;
  }
}

/**
 * Reads one entry of a `map<string, message>` (the reader just past its tag): its key, and
 * where its value's bytes lie (an empty range when it has none). Throws on broken framing.
 */
function mapEntry(r: Protobuf.Reader): { key: string; start: number; end: number } {
  const entryEnd = lengthEnd(r);
  let key = '';
  let start = 0;
  let end = 0;
  while (r.pos < entryEnd) {
    const t = r.uint32();
    if (t === 0x0a) key = r.string();
    else if (t === 0x12) {
      end = lengthEnd(r);
      start = r.pos;
      r.pos = end;
    } else r.skipType(t & 7);
  }
  if (r.pos !== entryEnd) throw new RangeError('map entry overruns its length');
  return { key, start, end };
}

/** Reads a length prefix and returns where the field ends; throws if past the buffer. */
function lengthEnd(r: Protobuf.Reader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new RangeError(`index out of range: ${r.pos} + ${len} > ${r.len}`);
  return end;
}

/**
 * Whether a leaf message (`RawXV2`) holds more tags (field 1) or values (field 3 of a set,
 * field 4 of a timer) than allowed. Counting stops at the cap: the cost is bounded by the
 * caps, not by the leaf.
 */
function overCap(
  bytes: Uint8Array,
  start: number,
  end: number,
  field: Leaf['field'],
  limits: ForwardedLimits,
): ForwardedCapReason | undefined {
  const { Reader } = require('protobufjs') as typeof Protobuf;
  const r = Reader.create(bytes.subarray(0, end));
  r.pos = start;
  let tags = 0;
  let values = 0;
  const valueField = field === 3 ? 3 : field === 4 ? 4 : 0;
  while (r.pos < r.len) {
    const t = r.uint32();
    const f = t >>> 3;
    const wt = t & 7;
    if (f === 1) {
      if (++tags > limits.maxTags) return 'too_many_tags';
    } else if (f === valueField) {
      // Packed doubles (proto3's default): a length of 8-byte values.
      if (field === 4 && wt === 2) {
        const len = r.uint32();
        values += Math.floor(len / 8);
        r.pos += len;
        if (r.pos > r.len) throw new RangeError('packed values overrun their message');
        if (values > limits.maxValues) return 'too_many_values';
        continue;
      }
      if (++values > limits.maxValues) return 'too_many_values';
    }
    r.skipType(wt);
  }
  return undefined;
}

/** A map without a prototype: a series may be named `__proto__`. */
function bare<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Encodes an `EventV2`. */
export function encodeEventMessage(e: EventMessage): Uint8Array {
  return load().event.encode(e).finish();
}

/** Decodes an `EventV2`; throws on bytes that are not one. */
export function decodeEventMessage(bytes: Uint8Array): EventMessage {
  return load().event.decode(bytes) as unknown as EventMessage;
}

/** An int64 as a number (exact up to 2^53). */
export function int64(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/**
 * Calls `fn` for every entry of a decoded map. A decoder assigns entries to a plain
 * object, where the key `__proto__` replaces the object's prototype instead of adding a
 * property: that entry is recovered from the prototype.
 */
export function forEachEntry<T>(map: Record<string, T> | null | undefined, fn: (key: string, value: T) => void): void {
  if (map === null || map === undefined) return;
  for (const key of Object.keys(map)) fn(key, map[key]!);
  const proto: unknown = Object.getPrototypeOf(map);
  if (proto !== Object.prototype && proto !== null && typeof proto === 'object') fn('__proto__', proto as T);
}

const PRIORITY: readonly EventPriority[] = ['normal', 'low'];
const ALERT: readonly EventAlertType[] = ['info', 'warning', 'error', 'success'];

/** An event as `EventV2`; `sourceIp` is where it came from. */
export function eventToMessage(e: StatsdEvent, sourceIp = ''): EventMessage {
  return {
    Title: e.title,
    Text: e.text,
    DateHappened: e.dateHappened,
    Hostname: e.hostname,
    AggregationKey: e.aggregationKey,
    SourceTypeName: e.sourceTypeName,
    Tags: [...e.tags],
    SourceIP: sourceIp,
    Priority: Math.max(0, PRIORITY.indexOf(e.priority)),
    Type: Math.max(0, ALERT.indexOf(e.alertType)),
  };
}

/** An `EventV2` as an event (unknown enum values read as normal / info). */
export function messageToEvent(m: EventMessage): StatsdEvent {
  return {
    title: m.Title,
    text: m.Text,
    dateHappened: int64(m.DateHappened),
    hostname: m.Hostname,
    aggregationKey: m.AggregationKey,
    priority: PRIORITY[m.Priority] ?? 'normal',
    sourceTypeName: m.SourceTypeName,
    alertType: ALERT[m.Type] ?? 'info',
    tags: [...m.Tags],
  };
}
