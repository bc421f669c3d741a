import { expect } from 'chai';
import { SendError } from '../../../src/backends/shared/stream-sender.js';
import { KubeApiError } from '../../../src/reload/kube.js';
import { asError, DaemonError, errorCode } from '../../../src/shared/errors.js';

describe('one error family: every thrown error is a coded DaemonError', () => {
  it('a send failure is ERR_BACKEND_SEND and keeps its errno for the metrics', () => {
    const e = new SendError('ECONNREFUSED', 'refused', { cause: new Error('x') });
    expect(e).to.be.instanceOf(DaemonError);
    expect(e.code).to.equal('ERR_BACKEND_SEND');
    expect(errorCode(e)).to.equal('ECONNREFUSED');
    expect(errorCode(Object.assign(new Error('y'), { code: 'EPIPE', errno: -32 }))).to.equal('EPIPE');
  });

  it('an API server error is ERR_KUBE_API with its status, and says whether to retry', () => {
    const e = new KubeApiError({ code: 403, body: '{"message":"forbidden"}' });
    expect(e).to.be.instanceOf(DaemonError);
    expect(e.code).to.equal('ERR_KUBE_API');
    expect(e.message).to.equal('HTTP 403: forbidden');
    expect(e.retryable).to.equal(false);
    expect(new KubeApiError({ code: 503 }).retryable).to.equal(true);
  });

  it('a rejection with a non-Error becomes an ERR_INTERNAL error carrying it', () => {
    const e = asError('just a string');
    expect(e).to.be.instanceOf(DaemonError);
    expect((e as DaemonError).code).to.equal('ERR_INTERNAL');
    expect(e.cause).to.equal('just a string');
    const own = new Error('mine');
    expect(asError(own)).to.equal(own);
  });
});
