import { IngestStats } from '../../../../src/ingest/ingest-stats.js';
import { expect } from 'chai';
import dgram from 'node:dgram';
import { UdpReceiver, type UdpReceiverMode } from '../../../../src/receivers/udp/udp-receiver.js';
import type { DatagramSink } from '../../../../src/receivers/receiver.js';
import { DaemonError } from '../../../../src/shared/errors.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { waitFor } from '../../../support/wait-for.js';

/** A sink that records every datagram as text with its sender. */
class RecordingSink implements DatagramSink {
  readonly received: Array<{ text: string; host: string }> = [];
  ingestDatagram(bytes: Uint8Array, host: string): void {
    this.ingestDatagramAt(bytes, 0, bytes.length, host);
  }
  ingestDatagramAt(bytes: Uint8Array, start: number, end: number, host: string): void {
    this.received.push({ text: Buffer.from(bytes.subarray(start, end)).toString('latin1'), host });
  }
  ingestLine(): void {
    throw new Error('not used by the UDP receiver');
  }
  ingestForwarded(): number {
    throw new Error('not used by the UDP receiver');
  }
  ingestEvent(): void {
    throw new Error('not used by the UDP receiver');
  }
}

async function startReceiver(
  mode: UdpReceiverMode,
  address = '127.0.0.1:0',
): Promise<{ receiver: UdpReceiver; sink: RecordingSink; buffer: number }> {
  const sink = new RecordingSink();
  let buffer = -1;
  const receiver = new UdpReceiver(
    { address, receiveBufferBytes: 1 << 20, mode },
    { sink, stats: new IngestStats(), logger: silentLogger, clock: systemClock, onReceiveBuffer: (b) => (buffer = b) },
  );
  await receiver.start();
  return { receiver, sink, buffer };
}

function bindSender(host: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, host, () => resolve(s));
  });
}

function send(s: dgram.Socket, payload: Buffer | string, port: number): Promise<void> {
  return new Promise((resolve, reject) => s.send(payload, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
}

describe('UdpReceiver readers (real sockets)', function () {
  this.timeout(20_000);

  for (const mode of ['batch', 'dgram'] as const) {
    describe(mode, () => {
      it('delivers every datagram of a fast stream byte for byte, in order, across many batches', async () => {
        const { receiver, sink, buffer } = await startReceiver(mode);
        expect(buffer).to.be.greaterThan(0);
        const sender = await bindSender('127.0.0.1');
        const port = receiver.address().port;
        const sent: string[] = [];
        try {
          for (let round = 0; round < 10; round++) {
            // 300 datagrams handed to the kernel back to back: the batch reader takes up to
            // 64 per system call. Varying sizes, including empty and binary payloads.
            for (let i = 0; i < 300; i++) {
              const n = sent.length;
              const text = n % 97 === 0 ? '' : `m${n}:${n}|c` + (n % 7 === 0 ? '\n\xff\x00x'.repeat(n % 50) : '');
              sent.push(text);
              sender.send(Buffer.from(text, 'latin1'), port, '127.0.0.1');
            }
            await waitFor(() => sink.received.length === sent.length);
          }
        } finally {
          sender.close();
          await receiver.shutdown();
        }
        expect(sink.received.map((r) => r.text)).to.deep.equal(sent);
        expect(new Set(sink.received.map((r) => r.host))).to.deep.equal(new Set(['127.0.0.1']));
      });

      it('delivers a 65,507-byte datagram whole', async () => {
        const { receiver, sink } = await startReceiver(mode);
        const sender = await bindSender('127.0.0.1');
        const big = Buffer.alloc(65_507, 'a');
        big.write('x:1|c\n', 0);
        big.write('\ny:2|c', big.length - 6);
        try {
          await send(sender, big, receiver.address().port);
          await send(sender, 'z:3|c', receiver.address().port);
          await waitFor(() => sink.received.length === 2);
        } finally {
          sender.close();
          await receiver.shutdown();
        }
        expect(sink.received[0]!.text).to.equal(big.toString('latin1'));
        expect(sink.received[1]!.text).to.equal('z:3|c');
      });

      it('names the sender of each datagram, for hundreds of distinct senders', async () => {
        const { receiver, sink } = await startReceiver(mode);
        const port = receiver.address().port;
        // 300 loopback addresses (all of 127/8 is local on Linux): more than the batch
        // reader remembers (256), so its address table starts over at least once.
        const hosts = Array.from({ length: 300 }, (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
        const senders = await Promise.all(hosts.map((h) => bindSender(h)));
        try {
          // In waves of 50, so that the kernel's default receive buffer (~260 small
          // datagrams at net.core.rmem_max = 212992) never overflows.
          let sent = 0;
          for (let pass = 0; pass < 2; pass++) {
            for (let w = 0; w < senders.length; w += 50) {
              const wave = senders.slice(w, w + 50);
              await Promise.all(wave.map((s, k) => send(s, `from${w + k}:1|c`, port)));
              sent += wave.length;
              const expected = sent;
              await waitFor(() => sink.received.length === expected);
            }
          }
          expect(sink.received.length).to.equal(600);
        } finally {
          for (const s of senders) s.close();
          await receiver.shutdown();
        }
        for (const r of sink.received) {
          const i = Number(/^from(\d+):/.exec(r.text)![1]);
          expect(r.host, r.text).to.equal(hosts[i]);
        }
      });

      it('reports a port in use with the address, and frees its port on shutdown', async () => {
        const first = await startReceiver(mode);
        const port = first.receiver.address().port;
        let err: unknown;
        try {
          await startReceiver(mode, `127.0.0.1:${port}`);
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(DaemonError);
        expect((err as Error).message).to.match(
          new RegExp(`cannot listen on udp 127\\.0\\.0\\.1:${port}: .*(in use|EADDRINUSE)`, 'i'),
        );
        await first.receiver.shutdown();
        await first.receiver.shutdown(); // idempotent
        const again = await startReceiver(mode, `127.0.0.1:${port}`);
        expect(again.receiver.address().port).to.equal(port);
        await again.receiver.shutdown();
      });
    });
  }
});
