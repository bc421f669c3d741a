import { expect } from 'chai';
import net from 'node:net';
import { RoutedHttpServer, type ConnectionsClosed, type HttpLimits } from '../../../src/shared/http-server.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { waitFor } from '../../support/wait-for.js';

/** Opens a connection, writes `head` (if any) and resolves with how long the server kept it open. */
function heldFor(port: number, head = ''): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect(port, '127.0.0.1', () => {
      if (head !== '') s.write(head);
    });
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => resolve(performance.now() - t0));
  });
}

describe('RoutedHttpServer: every connection is bounded (real sockets)', function () {
  this.timeout(30_000);
  let server: RoutedHttpServer;
  let closed: ConnectionsClosed;
  async function start(limits: Partial<HttpLimits> = {}): Promise<number> {
    closed = { limit: 0, timeout: 0 };
    server = new RoutedHttpServer({
      address: '127.0.0.1:0',
      key: 'test',
      what: 'test server',
      logger: silentLogger,
      closed,
      limits,
    });
    // A response of 64 MB for a client that never reads it.
    server.register({
      owner: 't',
      path: '/big',
      methods: ['GET'],
      handler: async (_req, res) => {
        const chunk = Buffer.alloc(1 << 20, 0x61);
        for (let i = 0; i < 64 && !res.destroyed; i++)
          if (!res.write(chunk)) await new Promise((r) => (res.once('drain', r), res.once('close', r)));
        res.end();
      },
    });
    await server.start();
    return server.address().port;
  }
  afterEach(() => server.shutdown());

  it('closes a slowloris (headers never finished) and an idle connection within the 5 s header deadline', async () => {
    const port = await start();
    const [slow, idle] = await Promise.all([heldFor(port, 'GET /big HTTP/1.1\r\nHost: x\r\n'), heldFor(port)]);
    // 5 s, checked every second (Node's default check every 30 s held them 35–40 s).
    expect(slow).to.be.within(4_500, 7_500);
    expect(idle).to.be.within(4_500, 7_500);
  });

  it('closes connections past its cap at once, counted as limit', async () => {
    const port = await start({ maxConnections: 3 });
    const open = Array.from({ length: 3 }, () => net.connect(port, '127.0.0.1'));
    await Promise.all(open.map((s) => new Promise((r) => s.once('connect', r))));
    const extra = await heldFor(port);
    expect(extra).to.be.lessThan(2_000);
    expect(closed.limit).to.equal(1);
    for (const s of open) s.destroy();
  });

  it('cuts a client that stopped reading its answer after the inactivity deadline, counted as timeout', async () => {
    const port = await start({ inactivityTimeoutMs: 500 });
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.pause(); // never reads: the server's writes stop once the socket buffers are full
    s.on('error', () => undefined);
    const t0 = performance.now();
    await waitFor(() => closed.timeout === 1, 5_000, 'the stalled answer cut');
    expect(performance.now() - t0).to.be.lessThan(5_000);
    s.destroy();
  });
});
