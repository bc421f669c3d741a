import { expect } from 'chai';
import { COMPONENTS } from '../../src/daemon/components.js';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { PARSE_ERROR_REASONS } from '../../src/parser/sample.js';
import { parseStatsdLine } from '../../src/parser/statsd-line-parser.js';
import { configFromDocument, type ConfigFormat } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { KEYS } from '../../src/config/keys.js';
import { LineSplitter } from '../../src/receivers/tcp/line-splitter.js';
import { makePipeline } from '../support/pipeline.js';

/**
 * Hostile-input fuzzing. The default test run uses a small budget; `npm run fuzz` sets
 * FUZZ_RUNS high. Inputs that ever failed live in regressions.json and are replayed first.
 */
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);
const REGRESSIONS = JSON.parse(readFileSync('test/fuzz/regressions.json', 'utf8')) as {
  ingest: string[];
  config: string[];
};

/** Bytes a hostile or broken sender produces. */
const hostileLine = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  // truncated UTF-8: a multi-byte character cut short
  fc.constantFrom('\xc3', '\xe2\x82', '\xf0\x9f\x98').map((t) => `bad${t}:1|c`),
  fc.constant('x'.repeat(65_536) + ':1|c'), // a 64 KiB name
  fc.integer({ min: 1, max: 400 }).map((n) => `huge:${'9'.repeat(n)}|c`),
  fc.constantFrom('1e400', '-1e400', 'NaN', 'inf', '0x10', '1_000', '.', '-', '+.e1').map((v) => `v:${v}|g`),
  fc.integer({ min: 1, max: 3000 }).map((n) => `tags:1|c|#${Array.from({ length: n }, (_, i) => `t${i}:v`).join(',')}`),
  fc.constantFrom('\0:1|c', 'a\0b:1|c', 'a:1\0|c', 'a:1|c\0', 'a:1|c|@\0'),
  fc.constantFrom('_e{', '_e{5,5}:ab', '_e{-1,2}:x|y', '_e{1,99999999999}:a|b', '_sc|x|1'),
);

const goodCounter = fc
  .record({ name: fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/), value: fc.integer({ min: 0, max: 1000 }) })
  .map(({ name, value }) => ({ name: `good.${name}`, value }));

/** The lines of datagrams as the ingester splits them (a trailing `\n` adds no line). */
function linesOf(datagrams: readonly Uint8Array[]): Buffer[] {
  const out: Buffer[] = [];
  for (const d of datagrams) {
    const b = Buffer.from(d);
    if (b.length === 0) continue;
    let start = 0;
    for (let i = 0; i < b.length; i++) {
      if (b[i] === 0x0a) {
        out.push(b.subarray(start, i));
        start = i + 1;
      }
    }
    if (start < b.length) out.push(b.subarray(start));
  }
  return out;
}

/**
 * Every line accounted for, and exactly as the full parser judges it line by line: the
 * same number of lines, of samples per kind and events, of rejections per reason.
 */
function checkAccounting(p: ReturnType<typeof makePipeline>, lines: readonly Buffer[]): void {
  const s = p.stats;
  const want = {
    lines: lines.length,
    events: 0,
    checks: 0,
    samples: { counter: 0, gauge: 0, timer: 0, set: 0 },
    bad: {} as Record<string, number>,
  };
  for (const r of PARSE_ERROR_REASONS) want.bad[r] = 0;
  for (const l of lines) {
    const r = parseStatsdLine(l, 0, l.length);
    if (r.type === 'metric') want.samples[r.metric.kind] += 1 + r.metric.extraValues.length;
    else if (r.type === 'event') want.events++;
    else if (r.type === 'check') want.checks++;
    else want.bad[r.reason]!++;
  }
  expect({
    lines: s.lines,
    events: s.events,
    checks: s.serviceChecks,
    samples: s.samples,
    bad: s.badLines,
  }).to.deep.equal(want);
}

describe('fuzz: hostile input never throws and never costs the good data beside it', function () {
  this.timeout(120_000);

  it('replays the ingest regression corpus', () => {
    for (const b64 of REGRESSIONS.ingest) {
      const p = makePipeline();
      const bytes = Buffer.from(b64, 'base64');
      const datagram = Buffer.concat([bytes, Buffer.from('\ngood.after:7|c')]);
      p.ingester.ingestDatagram(datagram, '10.0.0.1');
      checkAccounting(p, linesOf([datagram]));
      const snap = p.aggregator.snapshotAndReset(0, 1);
      expect(snap.counters.find((c) => c.name === 'good.after')?.value, b64).to.equal(7);
    }
  });

  it('aggregates every good line of a datagram full of hostile ones, counting each rejection by reason', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            goodCounter.map((g) => ({ good: g })),
            hostileLine.map((h) => ({ bad: h })),
          ),
          {
            maxLength: 25,
          },
        ),
        fc.boolean(),
        (items, viaTcpLines) => {
          const p = makePipeline();
          // Hostile lines must not contain the separator, or they would split into others.
          const lines = items.map((i) =>
            'good' in i ? `${i.good.name}:${i.good.value}|c` : i.bad.replaceAll('\n', ' '),
          );
          const bytes = lines.map((l) => Buffer.from(l, 'latin1'));
          if (viaTcpLines) {
            for (const b of bytes) p.ingester.ingestLine(b, 0, b.length, '10.0.0.1');
            checkAccounting(p, bytes);
          } else {
            const datagram = Buffer.from(lines.join('\n'), 'latin1');
            p.ingester.ingestDatagram(datagram, '10.0.0.1');
            checkAccounting(p, linesOf([datagram]));
          }
          const want = new Map<string, number>();
          for (const i of items) if ('good' in i) want.set(i.good.name, (want.get(i.good.name) ?? 0) + i.good.value);
          const snap = p.aggregator.snapshotAndReset(0, 1);
          for (const [name, total] of want)
            expect(snap.counters.find((c) => c.name === name)?.value, name).to.equal(total);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('random bytes as whole datagrams: no throw, every line accounted for', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const p = makePipeline();
        p.ingester.ingestDatagram(bytes, '10.0.0.1');
        checkAccounting(p, linesOf([bytes]));
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('replays the config regression corpus', () => {
    for (const text of REGRESSIONS.config) {
      const r = configFromDocument(text, 'json', {}, COMPONENTS);
      expect(r.config, text).to.equal(undefined);
      expect(r.issues.length, text).to.be.greaterThan(0);
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    }
  });

  it('validates any document without throwing: a config, or issues that each name a key path', () => {
    const keys = [...KEYS.map((k) => k.key), 'sepagent', 'filter', 'disabled-sub-metrics', 'nonsense', '__proto__'];
    const value = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 4 }),
      fc.dictionary(
        fc.constantFrom('port', 'host', 'sep_regexp', 'cluster_regexp', 'x'),
        fc.oneof(fc.string(), fc.integer()),
      ),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 8 }), (raw) => {
        const v = validateConfig(raw, COMPONENTS);
        const errors = v.issues.filter((i) => i.severity === 'error');
        for (const i of v.issues) {
          expect(i.path).to.be.a('string');
          expect(i.message).to.be.a('string').and.not.equal('');
        }
        if (errors.length === 0) expect(v.config).to.not.equal(undefined);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('parses any text as TOML, YAML or JSON without throwing; syntax errors are issues', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ConfigFormat>('toml', 'yaml', 'json'),
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .array(
              fc.constantFrom(
                '[',
                ']',
                '{',
                '}',
                '=',
                ':',
                '"',
                "'",
                '\n',
                'a',
                '1',
                '#',
                '-',
                ' ',
                '\0',
                '&x',
                '*x',
                '!!js/function',
              ),
              {
                maxLength: 60,
              },
            )
            .map((p) => p.join('')),
        ),
        (format, text) => {
          const r = configFromDocument(text, format, {}, COMPONENTS);
          if (r.config === undefined) expect(r.issues.some((i) => i.severity === 'error')).to.equal(true);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('frames any byte stream in any chunking like a reference split on newlines', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(10), fc.integer({ min: 0, max: 255 })), { maxLength: 600 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 40 }),
        (byteList, cuts, max) => {
          const input = Buffer.from(byteList);
          const lines: string[] = [];
          let tooLong = 0;
          const s = new LineSplitter(
            max,
            (b, start, end) => lines.push(Buffer.from(b.subarray(start, end)).toString('latin1')),
            () => tooLong++,
          );
          let off = 0;
          for (let i = 0; off < input.length; i++) {
            const n = cuts[i % cuts.length]!;
            s.push(input.subarray(off, off + n));
            off += n;
          }
          s.end();
          const segments = input.toString('latin1').split('\n');
          const last = segments.pop()!;
          const want: string[] = [];
          let wantTooLong = 0;
          for (const seg of segments) {
            if (seg.length > max) wantTooLong++;
            else want.push(seg);
          }
          if (last.length > max) wantTooLong++;
          else if (last.length > 0) want.push(last);
          expect(lines).to.deep.equal(want);
          expect(tooLong).to.equal(wantTooLong);
        },
      ),
      { numRuns: RUNS * 4 },
    );
  });
});
