import { expect } from 'chai';
import { Writable } from 'node:stream';
import { drainedOrClosed } from '../../../src/shared/drain.js';

/** A writable whose writes complete only when the test says so. */
function heldWritable(): { stream: Writable; complete: () => void } {
  let pending: (() => void) | undefined;
  const stream = new Writable({
    highWaterMark: 1,
    write(_chunk, _enc, cb) {
      pending = cb;
    },
  });
  return {
    stream,
    complete: () => {
      const cb = pending;
      pending = undefined;
      cb?.();
    },
  };
}

describe('drainedOrClosed', () => {
  it('resolves at each drain and leaves no listener behind, however many waits', async () => {
    const { stream, complete } = heldWritable();
    for (let i = 0; i < 25; i++) {
      expect(stream.write('x')).to.equal(false);
      const waiting = drainedOrClosed(stream);
      complete();
      await waiting;
      expect([stream.listenerCount('drain'), stream.listenerCount('close')]).to.deep.equal([0, 0]);
    }
  });

  it('resolves when the stream closes instead of draining', async () => {
    const { stream } = heldWritable();
    expect(stream.write('x')).to.equal(false);
    const waiting = drainedOrClosed(stream);
    stream.destroy();
    await waiting;
    expect([stream.listenerCount('drain'), stream.listenerCount('close')]).to.deep.equal([0, 0]);
  });
});
