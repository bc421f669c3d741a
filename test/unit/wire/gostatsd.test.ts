import { expect } from 'chai';
import fc from 'fast-check';
import { runToEnd } from '../../../src/shared/cooperative.js';
import {
  decodeEventMessage,
  decodeRawMessage,
  decodeRawMessageParts,
  encodeEventMessage,
  encodeRawMessage,
  eventToMessage,
  forEachEntry,
  int64,
  messageToEvent,
  type RawMessage,
  type TagMaps,
} from '../../../src/wire/gostatsd.js';

// A protobuf writer for the test only, straight from the wire format rules, so the
// library's encoding is checked against bytes built field by field from the schema.
function varint(n: bigint): number[] {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}
const key = (field: number, wire: number): number[] => varint(BigInt((field << 3) | wire));
const bytesField = (field: number, body: number[]): number[] => [
  ...key(field, 2),
  ...varint(BigInt(body.length)),
  ...body,
];
const str = (field: number, s: string): number[] => bytesField(field, [...Buffer.from(s, 'utf8')]);
const f64 = (v: number): number[] => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...b];
};
const double = (field: number, v: number): number[] => [...key(field, 1), ...f64(v)];
const int = (field: number, v: bigint): number[] => [...key(field, 0), ...varint(v)];
/** A map entry (key = field 1, value = field 2) of map field `field`. */
const entry = (field: number, k: string, value: number[]): number[] =>
  bytesField(field, [...str(1, k), ...bytesField(2, value)]);
/** `RawMessageV2` field `field` holding name → TagMap{tagsKey → raw}. */
const kind = (field: number, name: string, tagsKey: string, raw: number[]): number[] =>
  entry(field, name, entry(1, tagsKey, raw));

function nullMap<T>(o: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, o);
}

const COUNTER = [...str(1, 'a:1'), ...str(1, 'b:2'), ...str(2, 'h1'), ...int(3, 7n)];
const GAUGE = [...str(1, 'z'), ...str(2, 'h1'), ...double(3, 3.25)];
const SET = [...str(1, 't'), ...str(2, 'h2'), ...str(3, 'alice'), ...str(3, 'bob')];
const TIMER = [...str(1, 'u:v'), ...str(2, 'h3'), ...double(3, 2.5), ...bytesField(4, [...f64(1.5), ...f64(20)])];
const GOLDEN = Buffer.from([
  ...kind(1, 'req.count', 'a:1,b:2,s:h1', COUNTER),
  ...kind(2, 'queue.depth', 'z,s:h1', GAUGE),
  ...kind(3, 'users', 't,s:h2', SET),
  ...kind(4, 'req.time', 'u:v,s:h3', TIMER),
]);

const MESSAGE: RawMessage = {
  Counters: nullMap({
    'req.count': { TagMap: nullMap({ 'a:1,b:2,s:h1': { Tags: ['a:1', 'b:2'], Hostname: 'h1', Value: 7 } }) },
  }),
  Gauges: nullMap({ 'queue.depth': { TagMap: nullMap({ 'z,s:h1': { Tags: ['z'], Hostname: 'h1', Value: 3.25 } }) } }),
  Sets: nullMap({
    users: { TagMap: nullMap({ 't,s:h2': { Tags: ['t'], Hostname: 'h2', Values: ['alice', 'bob'] } }) },
  }),
  Timers: nullMap({
    'req.time': {
      TagMap: nullMap({ 'u:v,s:h3': { Tags: ['u:v'], Hostname: 'h3', SampleCount: 2.5, Values: [1.5, 20] } }),
    },
  }),
};

/** Every raw entry of a message as plain rows. */
function rows(m: RawMessage): unknown[] {
  const out: unknown[] = [];
  for (const k of ['Counters', 'Gauges', 'Sets', 'Timers'] as const) {
    forEachEntry(m[k] as TagMaps<unknown>, (name, byTags) =>
      forEachEntry(byTags?.TagMap, (tagsKey, raw) => {
        const r = raw as Record<string, unknown>;
        out.push([
          k,
          name,
          tagsKey,
          [...(r['Tags'] as string[])],
          r['Hostname'],
          k === 'Counters' ? int64(r['Value'] as number) : r['Value'],
          r['Values'] === undefined ? undefined : [...(r['Values'] as unknown[])],
          r['SampleCount'],
        ]);
      }),
    );
  }
  return out;
}

describe('gostatsd wire protocol (proto/gostatsd.proto)', () => {
  it('encodes RawMessageV2 exactly as the schema lays it out, field by field', () => {
    expect(Buffer.from(encodeRawMessage(MESSAGE)).toString('hex')).to.equal(GOLDEN.toString('hex'));
  });

  it('decodes the hand-built bytes back to the same message', () => {
    expect(rows(decodeRawMessage(GOLDEN))).to.deep.equal(rows(MESSAGE));
  });

  it('reads what other encoders may send: unpacked timer values, negative int64 counters, fields out of order', () => {
    const timer = [...key(4, 1), ...f64(4), ...key(4, 1), ...f64(5), ...double(3, 2), ...str(2, 'h')];
    const counter = [...int(3, -3n), ...str(2, 'h')];
    const bytes = Buffer.from([...kind(4, 't', 's:h', timer), ...kind(1, 'c', 's:h', counter)]);
    const m = decodeRawMessage(bytes);
    expect(rows(m)).to.deep.equal([
      ['Counters', 'c', 's:h', [], 'h', -3, undefined, undefined],
      ['Timers', 't', 's:h', [], 'h', undefined, [4, 5], 2],
    ]);
  });

  it('counters beyond 32 bits survive (int64)', () => {
    const big = 2 ** 40 + 3;
    const m = decodeRawMessage(
      encodeRawMessage({
        Counters: nullMap({ c: { TagMap: nullMap({ '': { Tags: [], Hostname: '', Value: big } }) } }),
      }),
    );
    expect(rows(m)).to.deep.equal([['Counters', 'c', '', [], '', big, undefined, undefined]]);
  });

  it('a metric named __proto__ is an ordinary key both ways', () => {
    const m = decodeRawMessage(
      encodeRawMessage({
        Counters: nullMap({
          ['__proto__']: { TagMap: nullMap({ ['__proto__']: { Tags: [], Hostname: '', Value: 1 } }) },
          ok: { TagMap: nullMap({ '': { Tags: [], Hostname: '', Value: 2 } }) },
        }),
      }),
    );
    expect(rows(m)).to.have.deep.members([
      ['Counters', 'ok', '', [], '', 2, undefined, undefined],
      ['Counters', '__proto__', '__proto__', [], '', 1, undefined, undefined],
    ]);
    expect(({} as Record<string, unknown>)['TagMap']).to.equal(undefined);
  });

  it('rejects bytes that are not a message', () => {
    expect(() => decodeRawMessage(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]))).to.throw();
    expect(() => decodeRawMessage(GOLDEN.subarray(0, GOLDEN.length - 3))).to.throw();
  });

  it('EventV2 round-trips and matches the schema field by field', () => {
    const e = {
      title: 'deploy',
      text: 'v2 out',
      dateHappened: 1556100400,
      hostname: 'web-1',
      aggregationKey: 'k',
      priority: 'low' as const,
      sourceTypeName: 'ci',
      alertType: 'warning' as const,
      tags: ['env:prod'],
    };
    const bytes = encodeEventMessage(eventToMessage(e, '10.0.0.5'));
    const expected = Buffer.from([
      ...str(1, 'deploy'),
      ...str(2, 'v2 out'),
      ...int(3, 1556100400n),
      ...str(4, 'web-1'),
      ...str(5, 'k'),
      ...str(6, 'ci'),
      ...str(7, 'env:prod'),
      ...str(8, '10.0.0.5'),
      ...int(9, 1n),
      ...int(10, 1n),
    ]);
    expect(Buffer.from(bytes).toString('hex')).to.equal(expected.toString('hex'));
    const back = decodeEventMessage(expected);
    expect(back.SourceIP).to.equal('10.0.0.5');
    expect(messageToEvent(back)).to.deep.equal(e);
  });
});

describe('decodeRawMessageParts: a message a series at a time, the same as decoding it whole', () => {
  const name = fc.oneof(fc.constantFrom('', '__proto__', 'req', 'a.b'), fc.string({ maxLength: 8 }));
  const tags = fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 });
  const byTags = <T>(leaf: fc.Arbitrary<T>) =>
    fc.dictionary(fc.string({ maxLength: 6 }), leaf, { maxKeys: 3 }).map((m) => ({ TagMap: m }));
  const maps = <T>(leaf: fc.Arbitrary<T>) => fc.dictionary(name, byTags(leaf), { maxKeys: 4 });
  const message = fc.record({
    Counters: maps(fc.record({ Tags: tags, Hostname: fc.string({ maxLength: 4 }), Value: fc.integer() })),
    Gauges: maps(fc.record({ Tags: tags, Hostname: fc.string({ maxLength: 4 }), Value: fc.double() })),
    Sets: maps(
      fc.record({
        Tags: tags,
        Hostname: fc.constant(''),
        Values: fc.array(fc.string({ maxLength: 4 }), { maxLength: 5 }),
      }),
    ),
    Timers: maps(
      fc.record({
        Tags: tags,
        Hostname: fc.constant(''),
        SampleCount: fc.double(),
        Values: fc.array(fc.double(), { maxLength: 6 }),
      }),
    ),
  });
  /** Every series of a decoded message as [kind, name, tags key, leaf as JSON], sorted. */
  const rows = (m: RawMessage): string[] => {
    const out: string[] = [];
    for (const kind of ['Counters', 'Gauges', 'Sets', 'Timers'] as const)
      forEachEntry(m[kind] as TagMaps<unknown>, (n, t) =>
        forEachEntry(t?.TagMap, (k, leaf) => out.push(JSON.stringify([kind, n, k, leaf]))),
      );
    return out.sort();
  };
  const everything = { maxSeries: 1e9, maxTags: 1e9, maxValues: 1e9 };

  it('yields exactly the series protobufjs decodes from the whole message', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeRawMessage(m);
        const parts: RawMessage[] = [];
        runToEnd(
          decodeRawMessageParts(
            bytes,
            everything,
            () => expect.fail('no cap'),
            (p) => parts.push(p),
          ),
        );
        expect(parts.flatMap(rows).sort()).to.deep.equal(rows(decodeRawMessage(bytes)));
      }),
      { numRuns: 300 },
    );
  });

  it('throws before handing anything on when the framing is broken', () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const bytes = encodeRawMessage(m);
        fc.pre(bytes.length > 2);
        const truncated = bytes.subarray(0, cut % (bytes.length - 1));
        let parts = 0;
        let threw = false;
        try {
          runToEnd(
            decodeRawMessageParts(
              truncated,
              everything,
              () => undefined,
              () => parts++,
            ),
          );
        } catch {
          threw = true;
        }
        if (threw) expect(parts).to.equal(0);
      }),
      { numRuns: 300 },
    );
  });
});
