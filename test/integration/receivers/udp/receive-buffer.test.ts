import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { IngestStats } from '../../../../src/ingest/ingest-stats.js';
import { checkReceiveBuffer, grantedReceiveBuffer } from '../../../../src/receivers/receive-buffer.js';
import type { DatagramSink } from '../../../../src/receivers/receiver.js';
import { UdpReceiver } from '../../../../src/receivers/udp/udp-receiver.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { createLogger } from '../../../../src/shared/logger.js';

/** A JSON logger whose lines are kept in `lines`. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ format: 'json', level: 'info', destination }), lines };
}

const ignoreAll: DatagramSink = {
  ingestDatagram: () => undefined,
  ingestDatagramAt: () => undefined,
  ingestLine: () => undefined,
  ingestForwarded: () => 0,
  ingestEvent: () => undefined,
};

describe('receive buffer check', function () {
  it('takes half of what Linux reports as the granted size', function () {
    expect(grantedReceiveBuffer(16_777_216, 'linux')).to.equal(8_388_608);
    expect(grantedReceiveBuffer(16_777_216, 'darwin')).to.equal(16_777_216);
  });

  it('is silent when the kernel reports twice the request (the buffer is as asked)', function () {
    const { logger, lines } = capturingLogger();
    expect(checkReceiveBuffer(logger, 'udp', 8_388_608, 16_777_216, 'linux')).to.equal(8_388_608);
    expect(lines).to.deep.equal([]);
  });

  it('warns with the granted bytes and the exact sysctl when the reported size equals the request', function () {
    const { logger, lines } = capturingLogger();
    checkReceiveBuffer(logger, 'unix', 8_388_608, 8_388_608, 'linux');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({
      level: 40,
      requestedBytes: 8_388_608,
      grantedBytes: 4_194_304,
      sysctl: 'sysctl -w net.core.rmem_max=8388608',
    });
    expect(lines[0]!['msg']).to.match(
      /^unix receive buffer smaller than requested: the kernel granted 4194304 of 8388608/,
    );
    expect(lines[0]!['msg']).to.include('"sysctl -w net.core.rmem_max=8388608"');
  });

  describe('on a real UDP socket (net.core.rmem_max of this machine)', function () {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());

    async function start(requested: number): Promise<Array<Record<string, unknown>>> {
      const { logger, lines } = capturingLogger();
      const receiver = new UdpReceiver(
        { address: '127.0.0.1:0', receiveBufferBytes: requested, mode: 'auto' },
        { sink: ignoreAll, stats: new IngestStats(), logger, clock: systemClock },
      );
      await receiver.start();
      await receiver.shutdown();
      return lines;
    }

    it('does not warn when the request fits under rmem_max', async function () {
      const lines = await start(Math.floor(rmemMax / 2));
      expect(lines.filter((l) => l['level'] === 40)).to.deep.equal([]);
      const listening = lines.find((l) => l['msg'] === 'udp receiver listening');
      expect(listening).to.include({ grantedBytes: Math.floor(rmemMax / 2) });
    });

    it('warns with what the kernel granted when the request exceeds rmem_max', async function () {
      const lines = await start(rmemMax * 2);
      const warnings = lines.filter((l) => l['level'] === 40);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include({
        requestedBytes: rmemMax * 2,
        grantedBytes: rmemMax,
        sysctl: `sysctl -w net.core.rmem_max=${rmemMax * 2}`,
      });
    });
  });
});
