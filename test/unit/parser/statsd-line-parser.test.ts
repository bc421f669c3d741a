import { expect } from 'chai';
import {
  createStatsdLineParser,
  normaliseName,
  parseLineString,
  parseStatsdLine,
} from '../../../src/parser/statsd-line-parser.js';
import type { ParsedMetric, ParseErrorReason, ParseResult } from '../../../src/parser/sample.js';

type Expected =
  | { kind: 'counter' | 'gauge' | 'timer'; name: string; value: number; rate?: number; tags?: string[] }
  | { kind: 'set'; name: string; member: string; rate?: number; tags?: string[] }
  | ParseErrorReason;

function check(r: ParseResult, want: Expected): void {
  if (typeof want === 'string') {
    expect(r).to.deep.include({ type: 'error', reason: want });
    return;
  }
  expect(r.type, JSON.stringify(r)).to.equal('metric');
  if (r.type !== 'metric') return;
  const m = r.metric;
  expect(m.kind).to.equal(want.kind);
  expect(m.name).to.equal(want.name);
  if (want.kind === 'set') expect(m.member).to.equal(want.member);
  else expect(Object.is(m.value, want.value), `value ${m.value} vs ${want.value}`).to.equal(true);
  expect(m.rate).to.equal(want.rate ?? 1);
  expect(m.tags).to.deep.equal(want.tags ?? []);
}

describe('StatsdLineParser', () => {
  describe('parseStatsdLine: the accept/reject table of the reference (docs/semantics.md#grammar)', () => {
    const table: Array<[string, Expected]> = [
      ['foo.bar:2|c', { kind: 'counter', name: 'foo.bar', value: 2 }],
      [
        'smp.rte:5|c|@0.1|#foo:bar,baz',
        { kind: 'counter', name: 'smp.rte', value: 5, rate: 0.1, tags: ['foo:bar', 'baz'] },
      ],
      ['def.h:10|h', { kind: 'timer', name: 'def.h', value: 10 }],
      ['def.ms:10|ms', { kind: 'timer', name: 'def.ms', value: 10 }],
      ['uniq:joe|s', { kind: 'set', name: 'uniq', member: 'joe' }],
      ['a:1|g|#', { kind: 'gauge', name: 'a', value: 1 }],
      ['a:4|c|@0.5|', { kind: 'counter', name: 'a', value: 4, rate: 0.5 }],
      ['', 'empty_line'],
      ['foo', 'malformed_line'],
      [':1|c', 'empty_name'],
      [`${'n'.repeat(1024)}:1|c`, { kind: 'counter', name: 'n'.repeat(1024), value: 1 }],
      [`${'n'.repeat(1025)}:1|c`, 'name_too_long'],
      ['x:1|q', 'invalid_type'],
      ['x:1|cc', 'invalid_type'],
      ['x:1|c|', 'invalid_suffix'],
      ['x:1|c|@', 'invalid_sample_rate'],
      ['x:abc|g', 'invalid_value'],
      ['x:NaN|c', 'invalid_value'],
      ['x:1e400|c', 'invalid_value'],
      ['x:1:a|c', 'invalid_value'],
      ['_sc|check|7', 'malformed_service_check'],
      ['_foo:1|c', 'unsupported_line'],
      ['x:2|c\r', 'invalid_type'],
    ];
    for (const [line, want] of table) {
      it(`${JSON.stringify(line)} → ${typeof want === 'string' ? want : want.kind}`, () =>
        check(parseLineString(line), want));
    }
  });

  describe('parseStatsdLine: grammar details', () => {
    const table: Array<[string, string, Expected]> = [
      ['rate must precede tags', 'a:1|c|#t|@0.5', { kind: 'counter', name: 'a', value: 1, tags: ['t|@0.5'] }],
      ['only one value per line', 'a:1|c:2|c', 'invalid_type'],
      ['ms requires the s', 'a:1|m', 'invalid_type'],
      ['type letters are case sensitive', 'a:1|C', 'invalid_type'],
      ['a trailing space after the type is garbage', 'a:1|c ', 'invalid_type'],
      ['a second rate is rejected', 'a:1|c|@0.5|@0.2', 'invalid_suffix'],
      ['\\r inside tags is kept', 'a:1|c|#t:1\r', { kind: 'counter', name: 'a', value: 1, tags: ['t:1\r'] }],
      ['empty tag pieces are dropped', 'a:1|c|#f,,z,', { kind: 'counter', name: 'a', value: 1, tags: ['f', 'z'] }],
      ['tag of only commas', 'a:1|c|#,', { kind: 'counter', name: 'a', value: 1 }],
      ['UTF-8 tags are kept verbatim', 'a:1|c|#zöne:b', { kind: 'counter', name: 'a', value: 1, tags: ['zöne:b'] }],
      ['sets keep their member verbatim', 'u:josé ß|s', { kind: 'set', name: 'u', member: 'josé ß' }],
      ['an empty set member is valid', 'u:|s', { kind: 'set', name: 'u', member: '' }],
      ['gauge + is not a delta', 'g:+4|g', { kind: 'gauge', name: 'g', value: 4 }],
      ['gauge - is not a delta', 'g:-3|g', { kind: 'gauge', name: 'g', value: -3 }],
      ['negative zero gauge stays -0', 'g:-0|g', { kind: 'gauge', name: 'g', value: -0 }],
      ['gauge inf is accepted (skipped later by sepagent)', 'g:inf|g', { kind: 'gauge', name: 'g', value: Infinity }],
      ['timer -Infinity is accepted', 't:-Infinity|ms', { kind: 'timer', name: 't', value: -Infinity }],
      ['counter inf is rejected', 'c:inf|c', 'invalid_value'],
      ['fractional counter', 'c:1.9|c', { kind: 'counter', name: 'c', value: 1.9 }],
      ['exponent values', 'c:2.5E-2|ms', { kind: 'timer', name: 'c', value: 0.025 }],
      ['leading dot', 'c:.5|g', { kind: 'gauge', name: 'c', value: 0.5 }],
      ['trailing dot', 'c:5.|g', { kind: 'gauge', name: 'c', value: 5 }],
      ['underflow is 0', 'c:1e-400|g', { kind: 'gauge', name: 'c', value: 0 }],
      ['hex is rejected', 'c:0x10|g', 'invalid_value'],
      ['blanks around the value are rejected', 'c: 1|g', 'invalid_value'],
      ['empty value is rejected', 'c:|g', 'invalid_value'],
      ['comma decimals are rejected', 'c:1,5|g', 'invalid_value'],
      ['underscores are rejected', 'c:1_000|g', 'invalid_value'],
      ['rate 0 is rejected (the reference yields Infinity)', 'c:1|c|@0', 'invalid_sample_rate'],
      ['negative rates are rejected', 'c:1|c|@-0.5', 'invalid_sample_rate'],
      ['rate nan is rejected', 'c:1|c|@nan', 'invalid_sample_rate'],
      ['rate above 1 is accepted', 'c:1|c|@2', { kind: 'counter', name: 'c', value: 1, rate: 2 }],
      ['rate then tags', 'c:1|ms|@0.5|#a,b', { kind: 'timer', name: 'c', value: 1, rate: 0.5, tags: ['a', 'b'] }],
      ['leading space becomes _ and is a metric', ' foo:1|c', { kind: 'counter', name: '_foo', value: 1 }],
      ['a NUL byte ends the line', 'ab\0:1|c', 'malformed_line'],
      ['a NUL after the type ends the line', 'a:1|c\0garbage', { kind: 'counter', name: 'a', value: 1 }],
      ['no pipe', 'a:1', 'malformed_line'],
      ['name normalised away entirely', '€€:1|c', 'empty_name'],
    ];
    for (const [name, line, want] of table) it(name, () => check(parseLineString(line), want));
  });

  describe('parseStatsdLine: DogStatsD 1.1-1.3 (lines the reference rejected)', () => {
    const metric = (line: string): ParsedMetric => {
      const r = parseLineString(line);
      if (r.type !== 'metric') throw new Error(`${line}: ${JSON.stringify(r)}`);
      return r.metric;
    };
    it('|d distributions are timers', () => {
      expect(metric('lat:12.5|d|#route:a')).to.deep.include({ kind: 'timer', value: 12.5, tags: ['route:a'] });
    });
    it('packed values (1.1): every value, one rate', () => {
      expect(metric('lat:1:2.5:3|ms|@0.5')).to.deep.include({
        kind: 'timer',
        value: 1,
        extraValues: [2.5, 3],
        rate: 0.5,
      });
      expect(metric('hits:1:1|c')).to.deep.include({ kind: 'counter', value: 1, extraValues: [1] });
      // Not for sets: `:` may be part of a member, as DogStatsD says.
      expect(metric('users:a:b|s')).to.deep.include({ kind: 'set', member: 'a:b', extraValues: [] });
      expect(parseLineString('x:1::2|g')).to.deep.include({ type: 'error', reason: 'invalid_value' });
    });
    it('packed values: an empty last value is skipped (gostatsd, the DataDog agent); elsewhere it is invalid', () => {
      const table: Array<[string, number | undefined, number[]]> = [
        ['a:1:2:|ms', 1, [2]],
        ['a:1:|ms', 1, []],
        ['a:1:2:3:|c|@0.5', 1, [2, 3]],
        ['a::|ms', undefined, []],
        ['a::1|ms', undefined, []],
        ['a:1::2|ms', undefined, []],
        ['a:|ms', undefined, []],
      ];
      for (const [line, value, extra] of table) {
        const r = parseLineString(line);
        if (value === undefined) expect(r, line).to.deep.include({ type: 'error', reason: 'invalid_value' });
        else expect(r.type === 'metric' ? r.metric : r, line).to.deep.include({ value, extraValues: extra });
      }
      expect(parseLineString('x:1:inf|c')).to.deep.include({ type: 'error', reason: 'invalid_value' });
    });
    it('container id (1.2), external data, cardinality and timestamp (1.3) fields, in any order', () => {
      expect(metric('a:1|c|#env:prod|c:83c0a99c0a54|T1656581400')).to.deep.include({
        tags: ['env:prod'],
        containerId: '83c0a99c0a54',
        timestamp: 1656581400,
        skippedFields: 0,
      });
      expect(metric('a:1|g|T1656581400|c:abc|e:it-false,cn-app|card:low|@0.5|#x')).to.deep.include({
        rate: 0.5,
        tags: ['x'],
        containerId: 'abc',
        timestamp: 1656581400,
        skippedFields: 0,
      });
    });
    it('unknown fields are skipped and counted, never fatal', () => {
      expect(metric('a:1|c|x')).to.deep.include({ skippedFields: 1 });
      expect(metric('a:1|c|@0.5|zz:9|#t|c:id')).to.deep.include({
        rate: 0.5,
        tags: ['t'],
        containerId: 'id',
        skippedFields: 1,
      });
      expect(metric('a:1|c|Tsoon')).to.deep.include({ timestamp: 0, skippedFields: 1 });
      expect(metric('a:1|c||#t')).to.deep.include({ tags: ['t'], skippedFields: 1 });
    });
    it('tags end only at a | that starts a DogStatsD field; any other | stays in the tags, as in the reference', () => {
      expect(metric('a:1|c|#t|@0.5').tags).to.deep.equal(['t|@0.5']);
      expect(metric('a:1|c|#t|x:1').tags).to.deep.equal(['t|x:1']);
      expect(metric('a:1|c|#t|c:id').tags).to.deep.equal(['t']);
    });
    it('service checks: every field, m: last (it may hold |)', () => {
      expect(
        parseLineString('_sc|redis.up|2|d:1656581400|h:db1|#env:dev,role:db|c:abc|m:timeout|retrying'),
      ).to.deep.equal({
        type: 'check',
        check: {
          name: 'redis.up',
          status: 2,
          timestamp: 1656581400,
          hostname: 'db1',
          message: 'timeout|retrying',
          tags: ['env:dev', 'role:db'],
        },
      });
      expect(parseLineString('_sc|ok|0')).to.deep.include({ type: 'check' });
      // A timestamp that is not a number is ignored, the check kept (the DataDog agent's rule).
      for (const [line, timestamp] of [
        ['_sc|x|0|d:soon', 0],
        ['_sc|x|0|d:', 0],
        ['_sc|x|0|d:12x|h:db1', 0],
        ['_sc|x|0|d:1656581400', 1656581400],
      ] as const) {
        const r = parseLineString(line);
        expect(r.type === 'check' ? r.check.timestamp : r, line).to.equal(timestamp);
      }
      expect(parseLineString('_sc|x|0|d:12x|h:db1')).to.deep.include({ type: 'check' });
      for (const bad of ['_sc|', '_sc||0', '_sc|x', '_sc|x|4', '_sc|x|01'])
        expect(parseLineString(bad), bad).to.deep.include({ type: 'error', reason: 'malformed_service_check' });
      expect(parseLineString('_scx|1|c')).to.deep.include({ type: 'error', reason: 'unsupported_line' });
    });
    it('istio-names keeps | in names; by default it is deleted as in the reference', () => {
      const line = Buffer.from('cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_200:1|c');
      const istio = createStatsdLineParser({ keepPipesInNames: true })(line, 0, line.length);
      expect(istio.type === 'metric' && istio.metric.name).to.equal(
        'cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_200',
      );
      const plain = parseStatsdLine(line, 0, line.length);
      expect(plain.type === 'metric' && plain.metric.name).to.equal(
        'cluster.outbound9080reviews.default.svc.cluster.local.upstream_rq_200',
      );
    });
  });

  describe('parseStatsdLine: byte ranges', () => {
    it('never reads past `end` into the next line', () => {
      const buf = Buffer.from('a:1|\nc');
      expect(parseStatsdLine(buf, 0, 4)).to.deep.include({ type: 'error', reason: 'invalid_type' });
      const ms = Buffer.from('a:1|ms');
      expect(parseStatsdLine(ms, 0, 5)).to.deep.include({ type: 'error', reason: 'invalid_type' });
    });
    it('parses a line in the middle of a buffer', () => {
      const buf = Buffer.from('junk\nx.y:3|c\nmore');
      check(parseStatsdLine(buf, 5, 12), { kind: 'counter', name: 'x.y', value: 3 });
    });
  });

  describe('normaliseName', () => {
    const table: Array<[string, string]> = [
      ['smp gge', 'smp_gge'],
      ['smp\tgge', 'smp_gge'],
      ['smp/gge', 'smp-gge'],
      ['smp,gge$', 'smpgge'],
      ['rq_tíme', 'rq_tme'],
      ['fooBarBaz', 'fooBarBaz'],
      ['a#b@c\rd', 'abcd'],
    ];
    for (const [raw, want] of table) {
      it(`${JSON.stringify(raw)} → ${want}`, () => {
        const b = Buffer.from(raw, 'utf8');
        expect(normaliseName(b, 0, b.length)).to.equal(want);
      });
    }
  });

  describe('events', () => {
    it('parses title and text', () => {
      const r = parseLineString('_e{1,1}:a|b');
      expect(r.type).to.equal('event');
      if (r.type !== 'event') return;
      expect(r.event.title).to.equal('a');
      expect(r.event.text).to.equal('b');
      expect(r.event.priority).to.equal('normal');
      expect(r.event.alertType).to.equal('info');
    });
    it('takes byte lengths, so titles may contain | and UTF-8', () => {
      const r = parseLineString('_e{4,5}:a|é|hello');
      expect(r.type === 'event' && r.event.title).to.equal('a|é');
      expect(r.type === 'event' && r.event.text).to.equal('hello');
    });
    it('reads every attribute and turns \\n into a newline', () => {
      const r = parseLineString('_e{5,12}:title|line1\\nline2|d:1556100410|h:web1|k:agg|p:low|s:src|t:error|#a:1,b');
      expect(r.type).to.equal('event');
      if (r.type !== 'event') return;
      expect(r.event).to.deep.include({
        title: 'title',
        text: 'line1\nline2',
        dateHappened: 1556100410,
        hostname: 'web1',
        aggregationKey: 'agg',
        priority: 'low',
        sourceTypeName: 'src',
        alertType: 'error',
        tags: ['a:1', 'b'],
      });
    });
    it('tolerates a dangling |', () => expect(parseLineString('_e{1,1}:a|b|').type).to.equal('event'));
    const bad: Array<[string, string]> = [
      ['text too short', '_e{1,5}:a|b'],
      ['no | after the title', '_e{2,1}:abc'],
      ['unknown attribute', '_e{1,1}:a|b|x:1'],
      ['unknown priority', '_e{1,1}:a|b|p:high'],
      ['unknown alert type', '_e{1,1}:a|b|t:fatal'],
      ['non-digit date', '_e{1,1}:a|b|d:soon'],
      ['length overflow', '_e{99999999999,1}:a|b'],
      ['missing lengths', '_e{,}:a|b'],
      ['garbage after the text', '_e{1,1}:a|bc'],
    ];
    for (const [name, line] of bad) {
      it(`rejects: ${name}`, () =>
        expect(parseLineString(line)).to.deep.include({ type: 'error', reason: 'malformed_event' }));
    }
  });
});

describe('where a rejected line goes wrong (the byte offset explain points at)', () => {
  const table: Array<[string, ParseErrorReason, number]> = [
    ['', 'empty_line', 0],
    ['_x:1|c', 'unsupported_line', 0],
    ['abc', 'malformed_line', 3],
    ['abc:1', 'malformed_line', 5],
    [':1|c', 'empty_name', 0],
    ['a:1|x', 'invalid_type', 4],
    ['a:1|mx', 'invalid_type', 4],
    ['a:1|cc', 'invalid_type', 5],
    ['a:1|c|', 'invalid_suffix', 6],
    ['a:1|c|@0.5|@0.5', 'invalid_suffix', 11],
    ['a:1|c|@0', 'invalid_sample_rate', 7],
    ['a:x|c', 'invalid_value', 2],
    ['a:1:x|ms', 'invalid_value', 4],
    ['_e{5,1}:ab|c', 'malformed_event', 12],
    ['_e{2,1}:ab|c|x:1', 'malformed_event', 13],
    ['_sc|name|9', 'malformed_service_check', 9],
    ['x'.repeat(1030) + ':1|c', 'name_too_long', 1024],
  ];
  for (const [line, reason, at] of table) {
    it(`${JSON.stringify(line.slice(0, 20))}: ${reason} at ${at}`, () => {
      expect(parseLineString(line)).to.deep.equal({ type: 'error', reason, at });
    });
  }
  it('is an index into the bytes handed over (a line inside a datagram)', () => {
    const buf = Buffer.from('ok:1|c\nbad:x|c');
    expect(parseStatsdLine(buf, 7, buf.length)).to.deep.equal({ type: 'error', reason: 'invalid_value', at: 11 });
  });
});
