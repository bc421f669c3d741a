import { expect } from 'chai';
import fc from 'fast-check';
import { BufferPool } from '../../../../src/backends/shared/buffer-pool.js';
import { TextChunks } from '../../../../src/backends/shared/text-chunks.js';

describe('TextChunks', () => {
  it('hands out whole lines, each chunk once, and nothing when no line was added', () => {
    const t = new TextChunks(new BufferPool(1024));
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

  it('takes its blocks from the pool and gives each back once: released, grown out of or never taken', () => {
    const pool = new BufferPool(16 * 1024, 4);
    const t = new TextChunks(pool);
    t.line('a\n');
    const a = t.take()!;
    t.line('b\n');
    expect(pool.out).to.equal(2);
    a.release();
    a.release();
    expect([pool.out, pool.idle]).to.deep.equal([1, 1]);
    // A line too long for the block moves the pending lines to a larger one, not the pool's.
    t.line('c'.repeat(20_000) + '\n');
    expect(pool.out).to.equal(0);
    const big = t.take()!;
    expect(big.bytes.toString()).to.equal('b\n' + 'c'.repeat(20_000) + '\n');
    big.release();
    expect(pool.out).to.equal(0);
    // The next block is the one given back; a render stopped early gives its block back.
    t.line('d\n');
    expect([pool.out, pool.idle]).to.deep.equal([1, 1]);
    t.dispose();
    expect([pool.out, pool.idle, t.lines]).to.deep.equal([0, 2, 0]);
  });

  it('reports a block as full when less than a few KiB are left', () => {
    const t = new TextChunks(new BufferPool(16 * 1024));
    expect(t.full).to.equal(false);
    while (!t.full) t.line('x'.repeat(99) + '\n');
    expect(t.lines).to.equal(82); // 16 KiB less 8 KiB of room, in 100-byte lines
    expect(t.take()!.bytes.length).to.equal(8200);
  });

  it('encodes any text as UTF-8 across blocks, lines longer than a block included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 300 }), fc.boolean()), { maxLength: 60 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.boolean(),
        (lines, padding, pooled) => {
          const t = new TextChunks(pooled ? new BufferPool(4096) : undefined);
          const taken: Buffer[] = [];
          const all = ['x'.repeat(padding) + '\n', ...lines.map(([l]) => l + '\n')];
          t.line(all[0]!);
          lines.forEach(([, takeAfter], i) => {
            t.line(all[i + 1]!);
            if (!takeAfter) return;
            // Copied and released at once: the pool hands the block out again.
            const c = t.take()!;
            taken.push(Buffer.from(c.bytes));
            c.release();
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
