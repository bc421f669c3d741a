import { expect } from 'chai';
import { RateLimitedLog } from '../../../src/shared/logger.js';

describe('RateLimitedLog', () => {
  it('lets one line per key through per window and reports the suppressed count', () => {
    let now = 0;
    const log = new RateLimitedLog(1000, () => now);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) log.maybe('k', (s) => seen.push(s));
    now = 1000;
    log.maybe('k', (s) => seen.push(s));
    log.maybe('other', (s) => seen.push(s));
    expect(seen).to.deep.equal([0, 4, 0]);
  });
  it('lets a budget of lines through per window (bad-lines-per-minute), none with a budget of 0', () => {
    let now = 0;
    const log = new RateLimitedLog(60_000, () => now, 3);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) log.maybe('k', (s) => seen.push(s));
    now = 60_000;
    log.maybe('k', (s) => seen.push(s));
    expect(seen).to.deep.equal([0, 0, 0, 7]);
    const off = new RateLimitedLog(60_000, () => now, 0);
    expect(off.maybe('k', () => undefined)).to.equal(false);
  });
});
