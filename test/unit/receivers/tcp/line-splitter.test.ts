import { expect } from 'chai';
import { LineSplitter } from '../../../../src/receivers/tcp/line-splitter.js';

function split(chunks: string[], max = 10): { lines: string[]; tooLong: number } {
  const lines: string[] = [];
  let tooLong = 0;
  const s = new LineSplitter(
    max,
    (b, start, end) => lines.push(Buffer.from(b.subarray(start, end)).toString()),
    () => tooLong++,
  );
  for (const c of chunks) s.push(Buffer.from(c));
  s.end();
  return { lines, tooLong };
}

describe('LineSplitter', () => {
  it('frames lines across chunk boundaries', () => {
    expect(split(['a:1|', 'c\nb:2', '|c\n', 'c:3|c'])).to.deep.equal({
      lines: ['a:1|c', 'b:2|c', 'c:3|c'],
      tooLong: 0,
    });
  });
  it('drops an overlong line up to its newline and counts it once, keeping its neighbours', () => {
    expect(split(['ok\n0123456789ABC', 'DEF\nfine\n'])).to.deep.equal({ lines: ['ok', 'fine'], tooLong: 1 });
    expect(split(['0123456789abcdef\nnext'])).to.deep.equal({ lines: ['next'], tooLong: 1 });
  });
  it('delivers empty lines (they are counted as bad by the parser)', () => {
    expect(split(['a\n\nb\n']).lines).to.deep.equal(['a', '', 'b']);
  });
  it('a line of exactly the limit is kept', () => {
    expect(split(['0123456789\n']).lines).to.deep.equal(['0123456789']);
  });
  it('reassembles a line dripped 16 bytes at a time, copying the bytes (chunks of a socket may be reused)', () => {
    const line = `drip.${'x'.repeat(65_000 - 9)}:1|c`;
    const chunks: Buffer[] = [];
    for (let i = 0; i < line.length; i += 16) chunks.push(Buffer.from(line.slice(i, i + 16)));
    const lines: string[] = [];
    const s = new LineSplitter(
      65_536,
      (b, start, end) => lines.push(Buffer.from(b.subarray(start, end)).toString()),
      () => {
        throw new Error('not too long');
      },
    );
    for (const c of chunks) {
      s.push(c);
      c.fill(0x21); // the socket reuses its buffer
    }
    s.push(Buffer.from('\n'));
    expect(lines).to.deep.equal([line]);
  });
});
