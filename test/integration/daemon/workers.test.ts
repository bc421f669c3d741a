import { expect } from 'chai';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { FakeSepAgentListener } from '../../support/fake-sepagent-listener.js';
import { sendUdp, startDaemon } from '../../support/daemon-harness.js';
import { ManualClock } from '../../support/manual-clock.js';
import { waitFor } from '../../support/wait-for.js';

const K = { sep_regexp: '[A-Za-z0-9.-]+_sep_[0-9]+', cluster_regexp: 'external_cluster_[A-Za-z0-9._-]*sep_[0-9]+' };

/** Envoy-shaped traffic over 12 SEPs and all four types, as datagrams. */
function traffic(): string[] {
  const out: string[] = [];
  for (let d = 0; d < 60; d++) {
    const lines: string[] = [];
    for (let i = 0; i < 8; i++) {
      const n = d * 8 + i;
      const q = `envoy.cluster.external_cluster_svc${n % 12}.ns_sep_${n % 12}.`;
      lines.push(
        [
          `${q}upstream_rq_total:1|c`,
          `${q}upstream_cx_active:${n % 9}|g`,
          `${q}upstream_rq_time:${(n * 37) % 250}|ms`,
          `${q}downstream_clients:c${n % 5}|s`,
        ][n % 4]!,
      );
    }
    out.push(lines.join('\n'));
  }
  return out;
}

async function run(workers: number): Promise<string[]> {
  const agent = await FakeSepAgentListener.start();
  const clock = new ManualClock();
  let daemon: Daemon | undefined;
  try {
    daemon = await startDaemon(
      {
        backends: 'sepagent',
        'flush-interval': '1h',
        'max-workers': workers,
        'percent-threshold': '90 50 -10',
        sepagent: { port: agent.port, ...K },
      },
      { clock },
    );
    const payloads = traffic();
    await sendUdp(daemon.addresses().udp.port, payloads);
    await waitFor(() => daemon!.stats.lines === payloads.length * 8);
    clock.advance(1000); // the measured interval; no tick fires at 1h
    await daemon.flushNow();
    await agent.waitForDocuments(12);
    return agent.documents.map((d) => d.raw).sort();
  } finally {
    await daemon?.shutdown();
    await agent.close();
  }
}

describe('max-workers', () => {
  it('1 and 4 workers send SepAgent exactly the same documents: one per SEP, never partial', async () => {
    const one = await run(1);
    const four = await run(4);
    expect(one).to.have.length(12);
    expect(new Set(one.map((r) => (JSON.parse(r) as { sep: string }).sep)).size).to.equal(12);
    expect(four).to.deep.equal(one);
  });
});
