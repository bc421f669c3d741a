import { expect } from 'chai';
import fc from 'fast-check';
import { TextChunks } from '../../../../src/backends/shared/text-chunks.js';

describe('TextChunks', () => {
  it('hands out whole lines, each chunk once, and nothing when no line was added', () => {
    const t = new TextChunks();
    expect(t.take()).to.equal(undefined);
    t.line('a 1\n');
    t.line('b 2\n');
    const first = t.take()!;
    t.line('c 3\n');
    const second = t.take()!;
    expect([first.bytes.toString(), first.lines]).to.deep.equal(['a 1\nb 2\n', 2]);
    expect([second.bytes.toString(), second.lines]).to.deep.equal(['c 3\n', 1]);
    expect(t.take()).to.equal(undefined);
    // A chunk taken is not written over by later lines.
    expect(first.bytes.toString()).to.equal('a 1\nb 2\n');
  });

  it('encodes any text as UTF-8 across blocks, lines longer than a block included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 300 }), fc.boolean()), { maxLength: 60 }),
        fc.integer({ min: 0, max: 300_000 }),
        (lines, padding) => {
          const t = new TextChunks();
          const taken: Buffer[] = [];
          const all = ['x'.repeat(padding) + '\n', ...lines.map(([l]) => l + '\n')];
          t.line(all[0]!);
          lines.forEach(([, takeAfter], i) => {
            t.line(all[i + 1]!);
            if (takeAfter) taken.push(t.take()!.bytes);
          });
          const rest = t.take();
          if (rest !== undefined) taken.push(rest.bytes);
          return Buffer.concat(taken).equals(Buffer.from(all.join(''), 'utf8'));
        },
      ),
      { numRuns: 200 },
    );
    const t = new TextChunks();
    const long = 'é'.repeat(2_000_000) + '\n';
    t.line('a\n');
    t.line(long);
    expect(t.take()!.bytes.toString()).to.equal('a\n' + long);
  });
});
