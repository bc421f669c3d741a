import { expect } from 'chai';
import { MemoryTrimmer, TRIM_EVERY_MS } from '../../../src/daemon/memory-trim.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { trimMallocHeap } from '../../../src/shared/native-addon.js';
import { ManualClock } from '../../support/manual-clock.js';

describe('MemoryTrimmer', () => {
  it('trims after the first flush, then at most once per TRIM_EVERY_MS', () => {
    const clock = new ManualClock();
    let trims = 0;
    const trimmer = new MemoryTrimmer(() => (trims++, true), clock, silentLogger);
    trimmer.afterFlush();
    expect(trims).to.equal(1);
    clock.advance(TRIM_EVERY_MS - 1);
    trimmer.afterFlush();
    expect(trims).to.equal(1);
    clock.advance(1);
    trimmer.afterFlush();
    trimmer.afterFlush();
    expect(trims).to.equal(2);
    clock.advance(10 * TRIM_EVERY_MS);
    trimmer.afterFlush();
    expect(trims).to.equal(3);
  });

  it("the native trim runs glibc's malloc_trim in this process", () => {
    // false without the native module (built by the test command) or without glibc; a
    // process that has run for a while always has free pages inside its heap to give back.
    expect(trimMallocHeap()).to.equal(true);
  });
});
