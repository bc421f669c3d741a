import { expect } from 'chai';
import { parseHostPort } from '../../../src/shared/address.js';

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
