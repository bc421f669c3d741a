import { expect } from 'chai';
import { flushOutcome } from '../../../support/backend-metrics.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateForwarderConfig } from '../../../../src/backends/forwarder/config.js';
import { ForwarderBackend } from '../../../../src/backends/forwarder/forwarder-backend.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { certificates } from '../../../support/certs.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { makePipeline, send } from '../../../support/pipeline.js';

describe('forwarder over TLS (https endpoint, private CA, HTTP/2 by ALPN)', function () {
  this.timeout(20_000);
  let dir: string;
  let server: http2.Http2SecureServer;
  let port: number;
  const seen: Array<{ version: string; path: string; tls: string }> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fwd-tls-'));
    const c = certificates(dir);
    server = http2.createSecureServer(
      { key: readFileSync(c.key), cert: readFileSync(c.cert), allowHTTP1: true },
      (req, res) => {
        req.resume();
        req.on('end', () => {
          const socket = req.socket as unknown as { getProtocol?: () => string };
          seen.push({ version: req.httpVersion, path: req.url, tls: socket.getProtocol?.() ?? '' });
          res.writeHead(202).end();
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => (seen.length = 0));

  async function forward(section: Record<string, unknown>) {
    const config = validateForwarderConfig(
      { 'api-endpoint': `https://127.0.0.1:${port}`, ...section },
      'forwarder',
      [],
    );
    const drops: Record<string, number> = {};
    const errors: string[] = [];
    const fwd = new ForwarderBackend(config, {
      name: 'forwarder',
      logger: silentLogger,
      clock: new ManualClock(),
      metrics: {
        sendError: (c) => errors.push(c),
        dropped: (r, n) => (drops[r] = (drops[r] ?? 0) + n),
        sent: () => undefined,
      },
    });
    const p = makePipeline();
    send(p.ingester, 'a:1|c');
    p.clock.advance(1000);
    const outcome = await flushOutcome(
      fwd.flush(p.aggregator.snapshotAndReset(p.clock.now(), 1), AbortSignal.timeout(30_000)),
    );
    await fwd.shutdown();
    return { drops, errors, outcome };
  }

  it('trusts the CA of ca-file, with TLS 1.2 or later, over HTTP/1.1 by default', async () => {
    const r = await forward({ 'ca-file': join(dir, 'ca.pem') });
    expect(r.drops).to.deep.equal({});
    expect(r.outcome).to.equal('delivered');
    expect(seen).to.have.length(1);
    expect(seen[0]!.version).to.equal('1.1');
    expect(seen[0]!.path).to.equal('/v2/raw');
    expect(['TLSv1.2', 'TLSv1.3']).to.include(seen[0]!.tls);
  });

  it('speaks HTTP/2 with enable-http2', async () => {
    const r = await forward({ 'ca-file': join(dir, 'ca.pem'), 'enable-http2': true });
    expect(r.drops).to.deep.equal({});
    expect(r.outcome).to.equal('delivered');
    expect(seen.map((s) => s.version)).to.deep.equal(['2.0']);
  });

  it('refuses a certificate it cannot verify: nothing sent, the failure counted', async () => {
    const r = await forward({ 'max-request-elapsed-time': '0s' });
    expect(seen).to.have.length(0);
    expect(r.errors).to.deep.equal(['ENETWORK']);
    expect(r.drops).to.deep.equal({ retry_expired: 1 });
    expect(r.outcome).to.equal('forwarding: 1 of 1 requests not delivered');
  });
});
