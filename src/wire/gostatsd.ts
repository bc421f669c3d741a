import type { EventAlertType, EventPriority, StatsdEvent } from '../parser/sample.js';
import { protoTypes } from '../shared/protobuf.js';

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
export interface RawTimer {
  Tags: string[];
  Hostname: string;
  /** Sum of 1/rate over the samples. */
  SampleCount: number;
  Values: number[];
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
});

/** Encodes a `RawMessageV2`. Maps should be null-prototype objects (a name may be `__proto__`). */
export function encodeRawMessage(m: Partial<RawMessage>): Uint8Array {
  const t = load().raw;
  return t.encode(m).finish();
}

/** Decodes a `RawMessageV2`; throws on bytes that are not one. */
export function decodeRawMessage(bytes: Uint8Array): RawMessage {
  return load().raw.decode(bytes) as unknown as RawMessage;
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
