import { expect } from 'chai';
import { newAccumulator } from '../../../src/aggregator/accumulators.js';
import { LineCache } from '../../../src/ingest/line-cache.js';

describe('LineCache', () => {
  it('finds entries by identity bytes and host, grows, and starts over past its bound', () => {
    const cache = new LineCache(5000);
    const acc = newAccumulator('counter', 'x', { tags: [], host: '', tagsKey: '' }, 0);
    const key = (i: number) => Buffer.from(`name.${i}|c`);
    for (let i = 0; i < 3000; i++) {
      const b = key(i);
      cache.insert(i * 7919, b, 0, 6, 6, b.length, 'h', acc, 1);
    }
    expect(cache.size).to.equal(3000);
    const b = key(1234);
    expect(cache.find(1234 * 7919, b, 0, 6, 6, b.length, 'h')).to.equal(1234);
    expect(cache.find(1234 * 7919, b, 0, 6, 6, b.length, 'other-host')).to.equal(-1);
    const wrong = Buffer.from('name.1235|c');
    expect(cache.find(1234 * 7919, wrong, 0, 6, 6, wrong.length, 'h')).to.equal(-1);
    for (let i = 3000; i < 5001; i++) {
      const k = key(i);
      cache.insert(i * 7919, k, 0, 6, 6, k.length, 'h', acc, 1);
    }
    expect(cache.size).to.equal(1);
  });
});
