import { expect } from 'chai';
import { formatDurationMs, parseDurationMs } from '../../../src/shared/duration.js';
import { parseHostPort } from '../../../src/shared/address.js';
import { RateLimitedLog } from '../../../src/shared/logger.js';

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

describe('parseHostPort', () => {
  it('parses the Go address forms', () => {
    expect(parseHostPort(':8125')).to.deep.equal({ host: '', port: 8125 });
    expect(parseHostPort('127.0.0.1:8125')).to.deep.equal({ host: '127.0.0.1', port: 8125 });
    expect(parseHostPort('[::1]:0')).to.deep.equal({ host: '::1', port: 0 });
    expect(parseHostPort('localhost:1')).to.deep.equal({ host: 'localhost', port: 1 });
  });
  it('explains what is wrong', () => {
    expect(parseHostPort('8125')).to.match(/missing ":port"/);
    expect(parseHostPort('::1:8125')).to.match(/brackets/);
    expect(parseHostPort('h:70000')).to.match(/above 65535/);
    expect(parseHostPort('h:x')).to.match(/invalid port/);
  });
});

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
