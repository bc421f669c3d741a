import { expect } from 'chai';
import { formatDurationMs, parseDurationMs } from '../../../src/shared/duration.js';

describe('parseDurationMs (Go syntax)', () => {
  const ok: Array<[string, number]> = [
    ['10s', 10_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['250us', 0.25],
    ['2h45m', 9_900_000],
  ];
  for (const [t, ms] of ok) it(`${t} = ${ms} ms`, () => expect(parseDurationMs(t)).to.equal(ms));
  for (const t of ['', '10', 's', '-1s', '1d', '1 s', 'abc'])
    it(`rejects ${JSON.stringify(t)}`, () => expect(parseDurationMs(t)).to.equal(undefined));
  it('formats back', () => {
    expect([1000, 90_000, 250, 0, 3_600_000].map(formatDurationMs)).to.deep.equal(['1s', '1m30s', '250ms', '0s', '1h']);
  });
});
