import { expect } from 'chai';
import fc from 'fast-check';
import { parseLineString, parseStatsdLine } from '../../../src/parser/statsd-line-parser.js';
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
        else expect(['metric', 'event', 'check']).to.include(r.type);
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
      '_sc|',
      '}',
      'd',
      'T1',
      'c:',
      'e:',
      'm:',
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
        expect(['metric', 'event', 'check', 'error']).to.include(r.type);
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
          // Every line is counted once: as bad exactly when the parser rejects it.
          const lines = items.map((i) => i.line);
          if (lines.at(-1) === '') lines.pop();
          const rejected = lines.filter((l) => parseLineString(l).type === 'error').length;
          expect(stats.badLinesTotal()).to.equal(rejected);
          expect(stats.lines).to.equal(items.length === 0 ? 0 : items.length - (items.at(-1)?.line === '' ? 1 : 0));
        },
      ),
      { numRuns: 500 },
    );
  });

  // A model of the reference's grammar: lines built from parts whose meaning is known.
  const safeName = fc.stringMatching(/^[A-Za-z0-9-][A-Za-z0-9._-]{0,24}$/); // a leading _ is an event or check
  const plainValue = fc.oneof(
    fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
    fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).map((v) => String(v)),
    fc.constantFrom('1e3', '2.5E-2', '.5', '5.', '+4', '-0'),
  );
  // Tags as the reference reads them: everything after '#', so a '|' inside them stays,
  // unless it starts a DogStatsD field (c:, e:, card:, T<digit>), which a reference line never has.
  const tagText = fc
    .array(fc.stringMatching(/^[a-z0-9:._|@-]{0,8}$/), { maxLength: 4 })
    .map((ts) => ts.join(','))
    .filter((t) => !/\|(c:|e:|card:|T\d)/.test(t));
  const referenceLine = fc.record({
    name: safeName,
    value: plainValue,
    type: fc.constantFrom('c', 'g', 'ms', 'h', 's'),
    rate: fc.option(fc.constantFrom('0.5', '1', '0.1', '2', '1e-1'), { nil: undefined }),
    tags: fc.option(tagText, { nil: undefined }),
  });

  it('any line of the reference grammar gives what the reference gives (the DogStatsD additions change none)', () => {
    fc.assert(
      fc.property(referenceLine, ({ name, value, type, rate, tags }) => {
        if (type === 'c' && !Number.isFinite(Number(value))) return;
        let line = `${name}:${value}|${type}`;
        if (rate !== undefined) line += `|@${rate}`;
        if (tags !== undefined) line += `|#${tags}`;
        const r = parseLineString(line);
        expect(r.type, line).to.equal('metric');
        if (r.type !== 'metric') return;
        const kind = { c: 'counter', g: 'gauge', ms: 'timer', h: 'timer', s: 'set' }[type];
        expect(r.metric, line).to.deep.equal({
          kind,
          name,
          rawName: '',
          value: type === 's' ? 0 : Number(value),
          member: type === 's' ? value : '',
          rate: rate === undefined ? 1 : Number(rate),
          tags: tags === undefined ? [] : tags.split(',').filter((t) => t !== ''),
          extraValues: [],
          timestamp: 0,
          containerId: '',
          skippedFields: 0,
          signed: type !== 's' && /^[+-]/.test(value),
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('any DogStatsD 1.3 line built from the grammar is accepted with every part read', () => {
    const field = fc.oneof(
      fc.constantFrom('0.5', '0.25', '1').map((r) => ({ rate: r })),
      fc.array(fc.stringMatching(/^[a-z][a-z0-9:._-]{0,8}$/), { minLength: 1, maxLength: 3 }).map((t) => ({ tags: t })),
      fc.stringMatching(/^[0-9a-f]{12,64}$/).map((c) => ({ container: c })),
      fc.stringMatching(/^[a-z0-9,-]{1,20}$/).map((e) => ({ external: e })),
      fc.constantFrom('none', 'low', 'orchestrator', 'high').map((c) => ({ card: c })),
      fc.integer({ min: 1, max: 2_000_000_000 }).map((t) => ({ ts: t })),
    );
    fc.assert(
      fc.property(
        safeName,
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('c', 'g', 'ms', 'h', 'd'),
        fc.uniqueArray(field, { maxLength: 6, selector: (f) => Object.keys(f)[0] }),
        (name, values, type, anyOrder) => {
          // Fields in any order, except that a rate precedes the tags: as in the reference,
          // `|#t|@0.5` is the tag `t|@0.5`.
          const fields = [...anyOrder.filter((f) => 'rate' in f), ...anyOrder.filter((f) => !('rate' in f))];
          const text = fields
            .map((f) =>
              'rate' in f
                ? `@${f.rate}`
                : 'tags' in f
                  ? `#${f.tags.join(',')}`
                  : 'container' in f
                    ? `c:${f.container}`
                    : 'external' in f
                      ? `e:${f.external}`
                      : 'card' in f
                        ? `card:${f.card}`
                        : `T${f.ts}`,
            )
            .map((f) => `|${f}`)
            .join('');
          const line = `${name}:${values.join(':')}|${type}${text}`;
          const r = parseLineString(line);
          expect(r.type, line).to.equal('metric');
          if (r.type !== 'metric') return;
          const get = <K extends string>(k: K): unknown => (fields.find((f) => k in f) as Record<K, unknown>)?.[k];
          expect(r.metric, line).to.deep.include({
            name,
            value: values[0],
            extraValues: values.slice(1),
            rate: get('rate') === undefined ? 1 : Number(get('rate')),
            tags: get('tags') ?? [],
            containerId: get('container') ?? '',
            timestamp: get('ts') ?? 0,
            skippedFields: 0,
          });
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
