import { expect } from 'chai';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { UdpSender } from '../../../../src/backends/shared/udp-sender.js';
import { SendError } from '../../../../src/backends/shared/stream-sender.js';
import { validateStatsdaemonConfig } from '../../../../src/backends/statsdaemon/config.js';
import { StatsdaemonBackend } from '../../../../src/backends/statsdaemon/statsdaemon-backend.js';
import type { ConfigIssue } from '../../../../src/shared/errors.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { CountingMetrics, flushOutcome } from '../../../support/backend-metrics.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { waitFor } from '../../../support/wait-for.js';

/** A UDP listener on 127.0.0.1 (port 0 = any) that keeps what it receives. */
async function listener(port = 0): Promise<{ port: number; got: string[]; close(): Promise<void> }> {
  const s = dgram.createSocket('udp4');
  const got: string[] = [];
  s.on('message', (m) => got.push(m.toString()));
  s.bind(port, '127.0.0.1');
  await once(s, 'listening');
  return { port: s.address().port, got, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** A loopback UDP port with no listener (bound, noted, closed). */
async function closedPort(): Promise<number> {
  const l = await listener();
  await l.close();
  return l.port;
}

function sender(host: string, port: number): { s: UdpSender; m: CountingMetrics } {
  const m = new CountingMetrics();
  const s = new UdpSender({ host, port, label: 'test', metrics: m, logger: silentLogger, clock: new ManualClock() });
  return { s, m };
}

const sendOne = (s: UdpSender, payload: string): Promise<unknown> =>
  new Promise((resolve) => s.send(payload, (err) => resolve(err)));

describe('UdpSender: the one UDP sender of the sepagent and statsdaemon backends', () => {
  it('resolves lazily: nothing is connected until open, then datagrams arrive', async () => {
    const peer = await listener();
    const { s, m } = sender('localhost', peer.port);
    expect(s.connected).to.equal(false);
    expect(s.target).to.equal(`localhost:${peer.port}`);
    await s.open();
    expect(s.connected).to.equal(true);
    await s.sendAll(['a:1|c', 'b:2|c']);
    await waitFor(() => peer.got.length === 2);
    expect(peer.got).to.deep.equal(['a:1|c', 'b:2|c']);
    expect(m.errors).to.deep.equal([]);
    s.close();
    await peer.close();
  });

  it('counts a refusal, retries that send once, and delivers once the peer is back on the port', async () => {
    const port = await closedPort();
    const { s, m } = sender('127.0.0.1', port);
    await s.open();
    await waitFor(async () => {
      await sendOne(s, 'x:1|c');
      return m.errors.includes('ECONNREFUSED');
    });
    expect(s.connected, 'a refusal keeps the socket').to.equal(true);
    const peer = await listener(port);
    await waitFor(async () => {
      await sendOne(s, 'back:1|c');
      return peer.got.includes('back:1|c');
    });
    s.close();
    await peer.close();
  });

  it('an unresolvable host rejects open, counted once per attempt; a send without a socket is ENOTCONN', async () => {
    const { s, m } = sender('udp-peer.invalid', 5555);
    const err = await s.open().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    expect(m.errors).to.have.length(1);
    const notConnected = await sendOne(s, 'x:1|c');
    expect((notConnected as SendError).errno).to.equal('ENOTCONN');
    expect(m.errors).to.have.length(2);
    s.close();
  });

  it('drops the socket after a failure other than a refusal, so the next open resolves again', async () => {
    const peer = await listener();
    const { s } = sender('127.0.0.1', peer.port);
    await s.open();
    s.failed(new SendError('ECONNREFUSED', 'refused'));
    expect(s.connected).to.equal(true);
    s.failed(new SendError('EHOSTUNREACH', 'no route'));
    expect(s.connected).to.equal(false);
    await s.open();
    await s.sendAll(['again:1|c']);
    await waitFor(() => peer.got.includes('again:1|c'));
    s.close();
    expect(await s.open().catch((e: unknown) => (e as { code: string }).code)).to.equal('ERR_STATE');
    await peer.close();
  });

  it('statsdaemon over UDP starts with its peer unresolvable, and each flush counts what it could not send', async () => {
    const issues: ConfigIssue[] = [];
    const cfg = validateStatsdaemonConfig({ address: 'statsd-peer.invalid:8125' }, 'statsdaemon', issues);
    expect(issues).to.deep.equal([]);
    const m = new CountingMetrics();
    const b = new StatsdaemonBackend(cfg, {
      name: 'statsdaemon',
      logger: silentLogger,
      clock: new ManualClock(),
      metrics: m,
    });
    await b.start();
    const p = makePipeline();
    send(p.ingester, 'relay.hits:3|c\nrelay.depth:1|g');
    const outcome = await flushOutcome(b.flush(p.aggregator.snapshotAndReset(1_000, 1), AbortSignal.timeout(5000)));
    expect(outcome).to.match(/^statsdaemon: /);
    expect(m.drops['send_failed']).to.equal(2);
    expect(m.errors.length).to.be.greaterThan(0);
    await b.shutdown();
  });
});
