import { expect } from 'chai';
import dgram from 'node:dgram';
import { SepAgentBackend } from '../../../../src/backends/sepagent/sepagent-backend.js';
import type { FlushSnapshot } from '../../../../src/aggregator/snapshot.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import type { BackendMetrics } from '../../../../src/backends/backend.js';
import { FakeSepAgentListener } from '../../../support/fake-sepagent-listener.js';
import { ManualClock } from '../../../support/manual-clock.js';
import { makePipeline, send } from '../../../support/pipeline.js';
import { waitFor } from '../../../support/wait-for.js';
import { CHUNK_SERIES } from '../../../../src/shared/cooperative.js';

class CountingMetrics implements BackendMetrics {
  readonly errors: Record<string, number> = {};
  readonly drops: Record<string, number> = {};
  datagrams = 0;
  items = 0;
  sendError(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }
  dropped(reason: string, n: number): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + n;
  }
  sent(d: number, i: number): void {
    this.datagrams += d;
    this.items += i;
  }
}

function snapshot(text: string): FlushSnapshot {
  const { ingester, aggregator } = makePipeline();
  send(ingester, text);
  return aggregator.snapshotAndReset(1_556_100_410_000, 10);
}

const cfg = (port: number, extra = {}) => ({
  host: '127.0.0.1',
  port,
  sepRegexp: 'sep([0-9]+)',
  clusterRegexp: 'external_cluster_sep([0-9]+)',
  maxDatagramBytes: 65507,
  ...extra,
});
const LINE = 'envoy.cluster.external_cluster_sep1.upstream_rq_total:1|c';

/** Finds a loopback UDP port with no listener (bind, note, close). */
async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A backend on `config` with counting metrics and a manual clock. */
function backendFor(config: ReturnType<typeof cfg>): { b: SepAgentBackend; m: CountingMetrics } {
  const m = new CountingMetrics();
  const b = new SepAgentBackend(config, {
    name: 'sepagent',
    logger: silentLogger,
    clock: new ManualClock(),
    metrics: m,
  });
  return { b, m };
}

describe('SepAgentBackend over real UDP', () => {
  it('sends one datagram per SEP over one connected socket', async () => {
    const agent = await FakeSepAgentListener.start();
    const { b, m } = backendFor(cfg(agent.port));
    await b.start();
    await b.flush(snapshot(`${LINE}\nenvoy.cluster.external_cluster_sep2.x:1|g`), AbortSignal.timeout(1000));
    await b.flush(snapshot(LINE), AbortSignal.timeout(1000));
    const docs = await agent.waitForDocuments(3);
    expect(docs.map((d) => d.sep)).to.deep.equal(['sep1', 'sep2', 'sep1']);
    expect(m.datagrams).to.equal(3);
    await b.shutdown();
    await b.shutdown();
    await agent.close();
  });

  it('delivers the whole snapshot even when its deadline has passed (a late flush is not lost)', async () => {
    const agent = await FakeSepAgentListener.start();
    const { b, m } = backendFor(cfg(agent.port));
    await b.start();
    // More series than one slice holds (CHUNK_SERIES), over 60 SEPs: an abort would stop
    // part-way. Gauges keep the documents of one slice, sent in one burst while this
    // process does not read, well inside a default 208 KiB receive buffer.
    const series = CHUNK_SERIES + 88;
    const lines = Array.from({ length: series }, (_, i) => `envoy.cluster.external_cluster_sep${i % 60}.s${i}:1|g`);
    await b.flush(snapshot(lines.join('\n')), AbortSignal.abort());
    const docs = await agent.waitForDocuments(60);
    expect(new Set(docs.map((d) => d.sep)).size).to.equal(60);
    expect(m.items).to.equal(series);
    expect(m.drops).to.deep.equal({});
    await b.shutdown();
    await agent.close();
  });

  it('counts ECONNREFUSED while SepAgent is down, and delivers again once it is back', async () => {
    const port = await freePort();
    const { b, m } = backendFor(cfg(port));
    await b.start();
    // Each datagram to the closed port draws an ICMP port-unreachable, reported on the socket.
    await waitFor(async () => {
      await b.flush(snapshot(LINE), AbortSignal.timeout(1000)).catch(() => undefined);
      return (m.errors['ECONNREFUSED'] ?? 0) > 0;
    });
    const agent = await FakeSepAgentListener.start(port);
    await b.flush(snapshot(LINE), AbortSignal.timeout(1000));
    const docs = await agent.waitForDocuments(1);
    expect(docs[0]!.sep).to.equal('sep1');
    await b.shutdown();
    await agent.close();
  });

  it('an unresolvable host is counted per flush and never throws out of start', async () => {
    const { b, m } = backendFor(cfg(5555, { host: 'sepagent.invalid' }));
    await b.start();
    const err = await b.flush(snapshot(LINE), AbortSignal.timeout(5000)).catch((e: unknown) => e);
    expect((err as { code: string }).code).to.equal('ERR_BACKEND_SEND');
    expect(m.drops['send_failed']).to.equal(2);
    expect(Object.keys(m.errors)).to.have.length(1);
    await b.shutdown();
  });

  it('splits an oversized SEP document so every item arrives', async () => {
    const agent = await FakeSepAgentListener.start();
    const { b, m } = backendFor(cfg(agent.port, { maxDatagramBytes: 1000 }));
    const lines = Array.from({ length: 40 }, (_, i) => `envoy.cluster.external_cluster_sep1.s${i}:${i}|c`);
    await b.flush(snapshot(lines.join('\n')), AbortSignal.timeout(1000));
    await agent.waitForDocuments(m.datagrams);
    expect(m.datagrams).to.be.greaterThan(10);
    expect(agent.documents.every((d) => d.raw.length <= 1000 && d.sep === 'sep1')).to.equal(true);
    expect(agent.documents.flatMap((d) => d.metrics)).to.have.length(80);
    await b.shutdown();
    await agent.close();
  });
});
