import { expect } from 'chai';
import fc from 'fast-check';
import { LineScan, plainMember, plainValue, scanLine } from '../../../src/parser/line-scan.js';
import { parseStatsdLine } from '../../../src/parser/statsd-line-parser.js';

const value = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.double({ noNaN: true, min: -1e9, max: 1e9 }).map((v) => v.toFixed(3)),
  fc.constantFrom('1.5', '-0', '+4', '.5', '5.', '1e3', 'inf', 'nan', '', '1:2', '123456789012345', '1234567890123456'),
  fc.string({ maxLength: 6 }),
);
const line = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom('a.b', 'x', 'c d', 'é', ''),
        value,
        fc.constantFrom('|c', '|g', '|ms', '|h', '|s', '|c|@0.5', '|g|#t:1', '|c|', '|q', '', '|s\0x'),
      )
      .map(([n, v, s]) => `${n}:${v}${s}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('_e{1,1}:a|b', '\n', 'a:1|c\nb:2|g') },
);

describe('scanLine (the parser`s fast entry point) agrees with parseStatsdLine', () => {
  it('finds the line end, and a plain value or member only where the full parser reads the same', () => {
    const scan = new LineScan();
    fc.assert(
      fc.property(line, (text) => {
        const bytes = Buffer.from(text, 'utf8');
        scanLine(bytes, 0, bytes.length, 7, scan);
        const nl = bytes.indexOf(10);
        expect(scan.end).to.equal(nl < 0 ? bytes.length : nl);
        const r = parseStatsdLine(bytes, 0, scan.end);
        if (scan.colon < 0) return; // left to the full parser
        expect(bytes[scan.colon]).to.equal(0x3a);
        expect(bytes[scan.pipe]).to.equal(0x7c);
        if (r.type !== 'metric') return; // the full parser rejects it: nothing was applied from the scan
        if (r.metric.kind === 'set') {
          const member = plainMember(bytes, scan.colon + 1, scan.pipe);
          if (member !== undefined) expect(member).to.equal(r.metric.member);
        } else {
          const v = plainValue(bytes, scan.colon + 1, scan.pipe);
          if (!Number.isNaN(v)) expect(v).to.equal(r.metric.value);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('hashes the identity bytes (everything but the value) from the seed', () => {
    const scan = new LineScan();
    const hashOf = (text: string, seed = 1): number => {
      scanLine(Buffer.from(text), 0, text.length, seed, scan);
      return scan.hash;
    };
    expect(hashOf('a:1|c|#t')).to.equal(hashOf('a:22.5|c|#t'));
    expect(hashOf('a:1|c')).to.not.equal(hashOf('a:1|g'));
    expect(hashOf('a:1|c', 1)).to.not.equal(hashOf('a:1|c', 2));
    scanLine(Buffer.from('_e{1,1}:a|b'), 0, 11, 0, scan);
    expect(scan.colon).to.equal(-1);
  });
});
