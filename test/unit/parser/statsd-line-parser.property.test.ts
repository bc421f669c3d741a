import { expect } from 'chai';
import fc from 'fast-check';
import { parseStatsdLine } from '../../../src/parser/statsd-line-parser.js';
import { PARSE_ERROR_REASONS } from '../../../src/parser/sample.js';
import { makePipeline, send } from '../../support/pipeline.js';

const NUM_RUNS = 3000;

const goodLine = fc
  .record({
    name: fc.stringMatching(/^[a-z][a-z0-9._-]{0,20}$/),
    value: fc.integer({ min: -1000, max: 1000 }),
    type: fc.constantFrom('c', 'g', 'ms', 'h'),
  })
  .map(({ name, value, type }) => ({ line: `${name}:${value}|${type}`, name, value, type }));

describe('StatsdLineParser properties', () => {
  it('is total: any bytes give a metric, an event or a known reason, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = parseStatsdLine(bytes, 0, bytes.length);
        if (r.type === 'error') expect(PARSE_ERROR_REASONS).to.include(r.reason);
        else expect(['metric', 'event']).to.include(r.type);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is total on StatsD-shaped strings too', () => {
    const piece = fc.constantFrom(
      ':',
      '|',
      '@',
      '#',
      ',',
      'c',
      'g',
      'ms',
      's',
      'h',
      '_e{',
      '}',
      '1',
      '0.5',
      '-',
      'x',
      '\r',
      '\0',
      'é',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
        const b = Buffer.from(parts.join(''), 'utf8');
        const r = parseStatsdLine(b, 0, b.length);
        expect(['metric', 'event', 'error']).to.include(r.type);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('round-trips well-formed lines', () => {
    fc.assert(
      fc.property(goodLine, ({ line, name, value }) => {
        const b = Buffer.from(line);
        const r = parseStatsdLine(b, 0, b.length);
        expect(r.type).to.equal('metric');
        if (r.type === 'metric') {
          expect(r.metric.name).to.equal(name);
          expect(r.metric.value).to.equal(value);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('good lines beside garbage in one datagram are all aggregated, and every bad line is counted', () => {
    const garbage = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\n'));
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            goodLine.map((g) => ({ good: true as const, ...g })),
            garbage.map((line) => ({ good: false as const, line })),
          ),
          { maxLength: 30 },
        ),
        (items) => {
          const { ingester, stats, aggregator } = makePipeline();
          send(ingester, items.map((i) => i.line).join('\n'));
          const goodCounters = items.filter((i) => i.good && i.type === 'c') as Array<{ name: string; value: number }>;
          const snap = aggregator.snapshotAndReset(1_556_100_410_000, 10);
          const want = new Map<string, number>();
          for (const g of goodCounters) want.set(g.name, (want.get(g.name) ?? 0) + g.value);
          for (const [name, total] of want) {
            const c = snap.counters.find((x) => x.name === name);
            expect(c?.value, name).to.equal(total);
          }
          const accepted =
            stats.samples.counter + stats.samples.gauge + stats.samples.timer + stats.samples.set + stats.events;
          expect(accepted + stats.badLinesTotal()).to.equal(stats.lines);
          expect(stats.lines).to.equal(items.length === 0 ? 0 : items.length - (items.at(-1)?.line === '' ? 1 : 0));
        },
      ),
      { numRuns: 500 },
    );
  });
});
