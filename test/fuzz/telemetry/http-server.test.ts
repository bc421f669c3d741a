import { expect } from 'chai';
import fc from 'fast-check';
import net from 'node:net';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { httpGet, startDaemon } from '../../support/daemon-harness.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);

/** Sends raw bytes to the admin port; resolves with what came back before the close (or after 2 s). */
function raw(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (): void => {
      sock.destroy();
      resolve(got);
    };
    sock.setTimeout(2000, done);
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (/\r\n\r\n/.test(got) && !/^HTTP\/1\.1 (1\d\d)/.test(got)) {
        // A complete response head is enough; give a body a moment, then close.
        setTimeout(done, 20);
      }
    });
    sock.on('error', done);
    sock.on('close', done);
    sock.write(bytes, () => undefined);
  });
}

describe('fuzz: the admin HTTP endpoints under hostile requests (real server)', function () {
  this.timeout(180_000);
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon({ backends: 'null', 'flush-interval': '1h' });
  });
  after(async () => {
    await daemon.shutdown();
  });

  const port = (): number => daemon.addresses().web!.port;

  it('answers 405 to a 1 MB POST without reading it, and 413 to a GET with a body', async () => {
    const big = Buffer.alloc(1 << 20, 'x');
    const post = await raw(
      port(),
      Buffer.concat([Buffer.from(`POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n`), big]),
    );
    expect(post).to.match(/^HTTP\/1\.1 405 /);
    expect(post.toLowerCase()).to.contain('connection: close');
    const get = await raw(port(), Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'));
    expect(get).to.match(/^HTTP\/1\.1 413 /);
    expect((await httpGet(port(), '/healthz')).status).to.equal(200);
  });

  it('survives random requests: every answer is a known status, and it keeps serving', async () => {
    const method = fc.constantFrom(
      'GET',
      'HEAD',
      'POST',
      'PUT',
      'DELETE',
      'OPTIONS',
      'TRACE',
      'CONNECT',
      'G\0T',
      'X'.repeat(300),
    );
    const path = fc.oneof(
      fc.constantFrom(
        '/metrics',
        '/healthz',
        '/readyz',
        '/healthcheck',
        '/deepcheck',
        '/',
        '*',
        '/metrics?x=1',
        '//metrics',
      ),
      fc.string({ maxLength: 100 }).map((s) => '/' + encodeURIComponent(s)),
      fc.constant('/' + 'a'.repeat(20_000)),
    );
    const header = fc.tuple(
      fc.stringMatching(/^[A-Za-z-]{1,20}$/),
      fc.string({ maxLength: 50 }).map((v) => v.replace(/[\r\n]/g, '')),
    );
    const request = fc.oneof(
      fc
        .record({
          m: method,
          p: path,
          h: fc.array(header, { maxLength: 80 }),
          body: fc.oneof(fc.constant(''), fc.string({ maxLength: 2000 })),
        })
        .map(({ m, p, h, body }) =>
          Buffer.from(
            `${m} ${p} HTTP/1.1\r\nHost: x\r\n${h.map(([k, v]) => `${k}: ${v}\r\n`).join('')}` +
              (body === '' ? '' : `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n`) +
              `\r\n${body}`,
            'latin1',
          ),
        ),
      fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
    );
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const answer = await raw(port(), req);
        if (answer !== '') expect(answer).to.match(/^HTTP\/1\.[01] (200|400|404|405|413|414|431|500|503) /);
        expect(answer).to.not.match(/^HTTP\/1\.1 500 /);
      }),
      { numRuns: Math.max(30, Math.floor(RUNS / 3)) },
    );
    expect((await httpGet(port(), '/healthz')).status).to.equal(200);
    expect((await httpGet(port(), '/metrics')).status).to.equal(200);
  });
});
