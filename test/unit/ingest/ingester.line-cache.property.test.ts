import { expect } from 'chai';
import fc from 'fast-check';
import { makePipeline, plainSnapshot } from '../../support/pipeline.js';

const T0 = 1_556_100_400_000;

// Lines built from a small vocabulary so series repeat (cache hits) and values vary.
const name = fc.constantFrom('a.b', 'envoy.cluster.x.rq', 'g', 'c d', 'x/y', 'é');
const value = fc.oneof(
  fc.integer({ min: -2000, max: 2000 }).map(String),
  fc.constantFrom(
    '1.5',
    '-0',
    '+4',
    '.5',
    '5.',
    '0.3',
    '1e3',
    'inf',
    'nan',
    '',
    '1:2',
    '1234567890123456',
    '99999999999999.9',
  ),
);
const suffix = fc.constantFrom(
  '|c',
  '|g',
  '|ms',
  '|h',
  '|s',
  '|c|@0.5',
  '|c|@0.3|#t:1',
  '|g|#b,a,b',
  '|ms|#x',
  '|c|@0',
  '|q',
  '|c|',
  '|c\0z',
  '',
);
const line = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(name, value, suffix).map(([n, v, s]) => `${n}:${v}${s}`) },
  { weight: 1, arbitrary: fc.constantFrom('', '_e{1,1}:a|b', 'garbage', ':1|c', 'u:\0|s') },
);
const datagram = fc.tuple(
  fc.array(line, { minLength: 1, maxLength: 6 }),
  fc.constantFrom('10.0.0.1', '10.0.0.2'),
  fc.boolean(),
);

describe('Ingester line cache', () => {
  it('gives exactly the results of the full parser on any traffic (differential property)', () => {
    fc.assert(
      fc.property(fc.array(datagram, { maxLength: 40 }), (datagrams) => {
        const fast = makePipeline({}, {}, true);
        const slow = makePipeline({}, {}, false);
        for (const p of [fast, slow]) {
          p.clock.setNow(T0);
          datagrams.forEach(([lines, host, trailing], i) => {
            p.clock.setNow(T0 + i);
            p.ingester.ingestDatagram(Buffer.from(lines.join('\n') + (trailing ? '\n' : '')), host);
            // Expire everything halfway so cached accumulators die and must be re-resolved.
            if (i === datagrams.length >> 1) p.aggregator.cut(T0 + 10_000_000);
          });
        }
        expect(fast.stats).to.deep.equal(slow.stats);
        expect(plainSnapshot(fast.aggregator.snapshotAndReset(T0 + 50, 1))).to.deep.equal(
          plainSnapshot(slow.aggregator.snapshotAndReset(T0 + 50, 1)),
        );
        expect(fast.events).to.deep.equal(slow.events);
      }),
      { numRuns: 400 },
    );
  });
});
