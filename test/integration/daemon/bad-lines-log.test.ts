import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { Daemon } from '../../../src/daemon/daemon.js';
import { systemClock } from '../../../src/shared/clock.js';
import { createLogger } from '../../../src/shared/logger.js';
import { sendUdp, testConfig } from '../../support/daemon-harness.js';
import { waitFor } from '../../support/wait-for.js';

/** A daemon logging JSON into a buffer; the lines logged so far, parsed. */
async function daemonWithLog(raw: Record<string, unknown>) {
  const out = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  let rest = '';
  out.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p !== '') lines.push(JSON.parse(p) as Record<string, unknown>);
  });
  const logger = createLogger({ format: 'json', level: 'info', destination: out });
  const daemon = new Daemon(testConfig(raw), { logger, clock: systemClock, version: 't' });
  await daemon.start();
  return {
    daemon,
    rejected: () => lines.filter((l) => l['msg'] === 'rejected a bad line'),
    /** Resolves once everything logged before it has arrived (the log keeps its order). */
    flushed: async (): Promise<void> => {
      logger.info('marker');
      await waitFor(() => lines.some((l) => l['msg'] === 'marker'));
    },
  };
}

describe('bad lines are logged by default, at a low rate', () => {
  it('with the defaults, up to 10 a minute with reason and line; every one counted; the good line beside them kept', async () => {
    const { daemon, rejected } = await daemonWithLog({ backends: 'null' });
    try {
      const bad = Array.from({ length: 15 }, (_, i) => `bad.line.${i}:x|c`);
      await sendUdp(daemon.addresses().udp.port, [[...bad, 'good:1|c'].join('\n')]);
      await waitFor(() => daemon.stats.badLines.invalid_value === 15 && daemon.stats.samples.counter === 1);
      await waitFor(() => rejected().length === 10);
      expect(rejected()[0]).to.deep.include({ reason: 'invalid_value', line: 'bad.line.0:x|c' });
      expect(rejected().map((l) => l['line'])).to.deep.equal(bad.slice(0, 10));
    } finally {
      await daemon.shutdown();
    }
  });

  it('bad-lines-per-minute = 0 logs none (they are still counted)', async () => {
    const { daemon, rejected, flushed } = await daemonWithLog({ backends: 'null', 'bad-lines-per-minute': 0 });
    try {
      await sendUdp(daemon.addresses().udp.port, ['a:x|c\nb:y|c\nok:1|c']);
      await waitFor(() => daemon.stats.badLines.invalid_value === 2 && daemon.stats.samples.counter === 1);
      await flushed();
      expect(rejected()).to.deep.equal([]);
    } finally {
      await daemon.shutdown();
    }
  });
});
