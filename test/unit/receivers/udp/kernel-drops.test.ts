import { expect } from 'chai';
import { udpKernelDrops } from '../../../../src/receivers/udp/kernel-drops.js';

describe('udpKernelDrops (/proc/net/udp parsing)', () => {
  it('sums the drops column of the sockets bound to the port, IPv4 and IPv6', () => {
    // 0x1FBD = 8125; the connected socket on port 0xD431 sending TO 8125 does not count.
    expect(udpKernelDrops(8125, 'test/fixtures/proc-net')).to.equal(1234 + 6);
    expect(udpKernelDrops(54321, 'test/fixtures/proc-net')).to.equal(7);
    expect(udpKernelDrops(9999, 'test/fixtures/proc-net')).to.equal(0);
  });
  it('is undefined where /proc/net does not exist', () => {
    expect(udpKernelDrops(8125, 'test/fixtures/no-such-dir')).to.equal(undefined);
  });
});
