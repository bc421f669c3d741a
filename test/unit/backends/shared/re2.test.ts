import { expect } from 'chai';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { compileRe2, type Re2Pattern } from '../../../../src/backends/shared/re2.js';
import { runFresh } from '../../../support/child.js';

const compiled = (pattern: string): Re2Pattern => {
  const re = compileRe2(pattern);
  if (typeof re === 'string') throw new Error(`${pattern}: ${re}`);
  return re;
};

describe('compileRe2: the reference’s RE2 syntax, matched in linear time', () => {
  const ok: Array<[string, string, string]> = [
    ['(?P<id>sep[0-9]+)', 'xsep12y', 'sep12'],
    ['\\Asep\\d+\\z', 'sep7', 'sep7'],
    ['(?i)SEP[[:digit:]]+', 'xsep3', 'sep3'],
    ['a(?i)b', 'xaB', 'aB'],
    ['\\pL+', '12abc3', 'abc'],
    ['\\Qa.b\\E', 'axb a.b', 'a.b'],
    [
      'external_cluster_[[:alnum:]._-]*sep_[0-9]+',
      'envoy.cluster.external_cluster_a.b_sep_1.x',
      'external_cluster_a.b_sep_1',
    ],
  ];
  for (const [pattern, input, match] of ok) {
    it(`matches ${pattern} as RE2 does`, () => {
      const re = compiled(pattern);
      expect(re.exec(input)?.[0]).to.equal(match);
      expect(re.test(input)).to.equal(true);
    });
  }

  it('gives named groups, numbered groups and the match index', () => {
    const m = compiled('cluster_(?P<sep>sep([0-9]+))').exec('a.cluster_sep42.b');
    expect(m?.index).to.equal(2);
    expect(m?.[2]).to.equal('42');
    expect(m?.groups?.['sep']).to.equal('sep42');
    expect(compiled('x').exec('y')).to.equal(null);
  });

  const bad = ['a(?=b)', 'a(?<!b)', '(a)\\1', '[z-a]', '(unclosed', 'a{2,1}'];
  for (const pattern of bad)
    it(`rejects ${pattern} with RE2's message`, () => expect(compileRe2(pattern)).to.be.a('string').and.not.equal(''));

  it('matches patterns that backtrack exponentially in JavaScript on long inputs (the mocha timeout is the bound)', () => {
    // With a backtracking engine each extra `a` doubles the time: 64 of them would never end.
    const nested = compiled('(a+)+$');
    expect(nested.test(`${'a'.repeat(64)}b`)).to.equal(false);
    expect(nested.exec(`${'a'.repeat(1024)}b`)).to.equal(null);
    const quadratic = compiled('external_cluster_[A-Za-z0-9._-]*sep_[0-9]+');
    expect(quadratic.exec('external_cluster_'.repeat(4096))).to.equal(null);
  });

  it('finds the same leftmost-first match as JavaScript for patterns both engines accept', () => {
    const patterns = ['sep([0-9]+)', 'a|ab', '(a*)(b|abc)', 'x[^.]*\\.', '(?:ab)+?c?', '[a-c]{2,3}'];
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.stringMatching(/^[abcx.sep0-9]{0,24}$/), (pattern, input) => {
        const ours = compiled(pattern).exec(input);
        const js = new RegExp(pattern).exec(input);
        expect(ours === null ? null : [ours.index, [...ours]]).to.deep.equal(js === null ? null : [js.index, [...js]]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('compileRe2: plain patterns on JavaScript’s RegExp', () => {
  /** A literal of letters, digits and `_`, then perhaps one group of a class repeated: the shape matched without re2js. */
  const plainPattern = fc
    .tuple(
      fc.stringMatching(/^[a-z0-9_]{0,6}$/),
      fc.option(
        fc.tuple(fc.constantFrom('[0-9]', '[a-c]', '[A-Za-z0-9_]', '[p0-2x]', '[e]'), fc.constantFrom('+', '*')),
      ),
    )
    .map(([literal, group]) => (group === null ? literal : `${literal}(${group[0]}${group[1]})`));

  it('gives the match, groups and index re2js gives, on any name', () => {
    fc.assert(
      fc.property(plainPattern, fc.stringMatching(/^[a-z0-9_.sepA-Z\u00e9\u{1F600}-]{0,30}$/u), (pattern, input) => {
        const ours = compiled(pattern).exec(input);
        const ref = RE2JS.compile(pattern).exec(input) as RegExpExecArray | null;
        expect(ours === null ? null : [ours.index, [...ours], ours.groups]).to.deep.equal(
          ref === null ? null : [ref.index, [...ref], ref.groups],
        );
        expect(compiled(pattern).test(input)).to.equal(ref !== null);
      }),
      { numRuns: 2000 },
    );
  });

  it('matches the chart’s default patterns without loading re2js, and loads it for any other pattern', () => {
    // A fresh process: other tests here load re2js.
    const r = runFresh(`
      const { compileRe2 } = await import('./src/backends/shared/re2.ts');
      const loaded = () => loadedModules().some((f) => f.includes('/re2js/'));
      const sep = compileRe2('sep([0-9]+)');
      const cluster = compileRe2('external_cluster_sep([0-9]+)');
      const m = cluster.exec('envoy.cluster.external_cluster_sep12.upstream_rq_total');
      const plain = { match: [...m], index: m.index, sep: sep.exec(m[0])[1], loaded: loaded() };
      compileRe2('sep([9-0]+)');
      const badRange = loaded();
      compileRe2('sep\\\\d+');
      console.log(JSON.stringify({ plain, badRange, other: loaded() }));`);
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      plain: { match: ['external_cluster_sep12', '12'], index: 14, sep: '12', loaded: false },
      // A plain-looking pattern that is not valid gets RE2's message, from re2js.
      badRange: true,
      other: true,
    });
  });

  it('rejects a plain-looking pattern that is not valid with RE2’s message', () => {
    expect(compileRe2('sep([9-0]+)')).to.be.a('string').and.match(/range/i);
  });
});
