import { expect } from 'chai';
import fc from 'fast-check';
import { decodeUtf8, DOCUMENT_LIMITS, parseStructured, type DocumentFormat } from '../../../src/shared/documents.js';

const error = (text: string, format: DocumentFormat): string => {
  const r = parseStructured(text, format);
  if (r.ok) throw new Error(`accepted: ${text.slice(0, 80)}`);
  return r.error;
};

/** Five levels of YAML aliases, each nine times the one before: 59,049 strings from 200 bytes. */
const ALIAS_BOMB =
  'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n' +
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n' +
  'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n';

describe('parseStructured: documents within limits, refused with a reason otherwise, never thrown', () => {
  it('parses the three formats', () => {
    for (const [text, format] of [
      ['a = 1\n[b]\nc = "d"\n', 'toml'],
      ['a: 1\nb:\n  c: d\n', 'yaml'],
      ['{"a": 1, "b": {"c": "d"}}', 'json'],
    ] as const)
      expect(parseStructured(text, format)).to.deep.equal({ ok: true, value: { a: 1, b: { c: 'd' } }, warnings: [] });
  });

  it('refuses nesting 100,000 deep in every format', () => {
    const n = 100_000;
    expect(error(`${'['.repeat(n)}${']'.repeat(n)}`, 'json')).to.contain('nested deeper than the limit of 32');
    expect(error(`a = ${'['.repeat(n)}${']'.repeat(n)}`, 'toml')).to.match(/TOML syntax error: .*nested/);
    expect(error(`a: ${'['.repeat(n)}${']'.repeat(n)}`, 'yaml')).to.match(/YAML syntax error|nested deeper/);
    expect(error(`a: ${'{"b": '.repeat(40)}1${'}'.repeat(40)}`, 'yaml')).to.contain('nested deeper');
  });

  it('refuses a YAML alias bomb, and a document of more values than the limit', () => {
    expect(error(ALIAS_BOMB, 'yaml')).to.match(/alias|more than the limit/);
    expect(error(JSON.stringify({ t: Array.from({ length: DOCUMENT_LIMITS.values }, () => 0) }), 'json')).to.contain(
      `more than the limit of ${DOCUMENT_LIMITS.values} values`,
    );
  });

  it('refuses a document over the size limit before parsing it', () => {
    expect(error(`a = "${'x'.repeat(DOCUMENT_LIMITS.bytes)}"`, 'toml')).to.match(/is \d+ bytes, more than the limit/);
  });

  it('names the line of a syntax error', () => {
    expect(error('a = 1\nb = \n', 'toml')).to.match(/^TOML syntax error: line 2/);
    expect(error('a: 1\nb: [\n', 'yaml')).to.match(/^YAML syntax error: .*line 3/);
  });

  it('is total: any text in any format is a value or a reason', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.constantFrom('toml', 'yaml', 'json'), (text, format) => {
        const r = parseStructured(text, format);
        expect(r.ok ? 'value' in r : typeof r.error).to.not.equal(undefined);
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeUtf8', () => {
  it('decodes valid UTF-8 and refuses an invalid byte, naming its line', () => {
    expect(decodeUtf8(Buffer.from('a = "é"\n'))).to.equal('a = "é"\n');
    const bad = Buffer.concat([Buffer.from('a = 1\nb = "'), Buffer.from([0xff]), Buffer.from('"\n')]);
    expect(() => decodeUtf8(bad)).to.throw('invalid UTF-8 on line 2');
  });
});
