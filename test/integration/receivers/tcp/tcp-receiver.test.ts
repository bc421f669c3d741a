import { expect } from 'chai';
import net from 'node:net';
import { TcpReceiver } from '../../../../src/receivers/tcp/tcp-receiver.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { makePipeline } from '../../../support/pipeline.js';
import { waitFor } from '../../../support/wait-for.js';

describe('TcpReceiver: connections are bounded (real sockets)', function () {
  this.timeout(20_000);
  let receiver: TcpReceiver;
  const sockets: net.Socket[] = [];
  function start(maxConnections: number, idleTimeoutMs: number) {
    const p = makePipeline();
    receiver = new TcpReceiver(
      { address: '127.0.0.1:0', maxLineBytes: 65_536, maxConnections, idleTimeoutMs },
      { sink: p.ingester, stats: p.stats, logger: silentLogger, clock: systemClock },
    );
    return p;
  }
  const connect = async (): Promise<net.Socket> => {
    const s = net.connect(receiver.address().port, '127.0.0.1');
    s.on('error', () => undefined);
    sockets.push(s);
    await new Promise((r) => s.once('connect', r));
    return s;
  };
  const closedBy = (s: net.Socket): Promise<void> =>
    new Promise((r) => (s.destroyed ? r() : (s.resume(), s.once('close', () => r()))));
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await receiver.shutdown();
  });

  it('closes connections past tcp-max-connections at once, counted; the open ones keep working', async () => {
    const p = start(2, 0);
    await receiver.start();
    const [a] = [await connect(), await connect()];
    const extra = await connect();
    await closedBy(extra);
    await waitFor(() => p.stats.connectionsClosed('tcp').limit === 1, 5000, 'the refusal counted');
    a.write('still.open:1|c\n');
    await waitFor(() => p.stats.samples.counter === 1, 5000, 'a line on an open connection');
  });

  it('closes a connection silent for tcp-idle-timeout, dropping its partial line, counted', async () => {
    const p = start(10, 300);
    await receiver.start();
    const s = await connect();
    s.write(`partial.${'x'.repeat(60_000)}`);
    await closedBy(s);
    expect(p.stats.connectionsClosed('tcp').timeout).to.equal(1);
    expect(p.stats.lines).to.equal(0);
  });
});
