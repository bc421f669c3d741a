import { expect } from 'chai';
import { request } from 'node:http';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../src/shared/logger.js';
import { AdminHttpServer } from '../../../src/telemetry/http-server.js';

/** One request over a real socket; resolves with the status, headers and body. */
function call(
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers['allow'], body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('AdminHttpServer routes', () => {
  let server: AdminHttpServer;
  let port: number;
  beforeEach(async () => {
    server = new AdminHttpServer('127.0.0.1:0', { registry: new Registry(), logger: silentLogger, ready: () => true });
    await server.start();
    port = server.address().port;
  });
  afterEach(() => server.shutdown());

  it('serves a component`s route beside its own, with its methods and body policy', async () => {
    const remove = server.register({
      owner: 'c',
      path: '/v2/raw',
      methods: ['POST'],
      acceptsBody: true,
      handler: (req, res) => {
        let n = 0;
        req.on('data', (c: Buffer) => (n += c.length));
        req.on('end', () => {
          res.writeHead(202);
          res.end(String(n));
        });
      },
    });
    expect(await call(port, 'POST', '/v2/raw?x=1', 'abcdef')).to.deep.include({ status: 202, body: '6' });
    expect(await call(port, 'GET', '/v2/raw')).to.deep.include({ status: 405, allow: 'POST' });
    expect((await call(port, 'GET', '/healthz')).status).to.equal(200);
    remove();
    expect((await call(port, 'POST', '/v2/raw', 'x')).status).to.equal(404);
  });

  it('answers 413 without reading a body sent to a route that takes none', async () => {
    server.register({ owner: 'c', path: '/x', methods: ['GET', 'POST'], handler: (_q, res) => void res.end('x') });
    expect(await call(port, 'POST', '/x', 'a body')).to.deep.include({ status: 413 });
    expect(await call(port, 'GET', '/x')).to.deep.include({ status: 200, body: 'x' });
  });

  it('refuses a path another owner serves; a new instance of the same owner takes it over', async () => {
    expect(() =>
      server.register({ owner: 'c', path: '/metrics', methods: ['GET'], handler: () => undefined }),
    ).to.throw('/metrics is already served by daemon');
    const removeOld = server.register({
      owner: 'c',
      path: '/p',
      methods: ['GET'],
      handler: (_q, res) => void res.end('old'),
    });
    expect(() => server.register({ owner: 'd', path: '/p', methods: ['GET'], handler: () => undefined })).to.throw();
    server.register({ owner: 'c', path: '/p', methods: ['GET'], handler: (_q, res) => void res.end('new') });
    removeOld(); // the old instance stops after the new one took over: the path stays
    expect(await call(port, 'GET', '/p')).to.deep.include({ status: 200, body: 'new' });
  });

  it('answers 500 when a handler throws, and keeps serving', async () => {
    server.register({
      owner: 'c',
      path: '/boom',
      methods: ['GET'],
      handler: () => {
        throw new Error('boom');
      },
    });
    expect((await call(port, 'GET', '/boom')).status).to.equal(500);
    expect((await call(port, 'GET', '/healthz')).status).to.equal(200);
  });
});
