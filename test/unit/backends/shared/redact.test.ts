import { expect } from 'chai';
import { redact, secretsOf } from '../../../../src/backends/shared/redact.js';

describe('redact: credentials out of logged answers', () => {
  it('takes every header value but the plain ones, and what an Authorization header encodes', () => {
    const basic = Buffer.from('writer:pa55word').toString('base64');
    const secrets = secretsOf({
      'content-type': 'application/json',
      'user-agent': 'statsd-sepagent/0.1.0',
      authorization: `Basic ${basic}`,
      'x-api-key': 'k3y-value',
    });
    expect(secrets).to.include.members([`Basic ${basic}`, basic, 'writer:pa55word', 'pa55word', 'k3y-value']);
    expect(secrets).to.not.include('application/json');
    expect(secretsOf({ authorization: 'Bearer t0ken-abc' })).to.include.members(['Bearer t0ken-abc', 't0ken-abc']);
  });

  it('replaces every occurrence, and a tail that starts a cut-off secret', () => {
    const s = secretsOf({ 'dd-api-key': 'abcdef0123456789' });
    expect(redact('key abcdef0123456789 and again abcdef0123456789.', s)).to.equal(
      'key [REDACTED] and again [REDACTED].',
    );
    expect(redact('the answer was cut here: abcdef01', s)).to.equal('the answer was cut here: [REDACTED]');
    expect(redact('nothing to hide', s)).to.equal('nothing to hide');
  });
});
