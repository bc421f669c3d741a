import { expect } from 'chai';
import { eventLine, statsdPackets } from '../../../../src/backends/statsdaemon/format.js';
import { UDP_PACKET } from '../../../../src/backends/statsdaemon/statsdaemon-backend.js';
import { runToEnd } from '../../../../src/shared/cooperative.js';
import { makePipeline, send } from '../../../support/pipeline.js';

function packets(lines: string, disableTags = false, max = UDP_PACKET) {
  const p = makePipeline();
  send(p.ingester, lines);
  return runToEnd(statsdPackets(p.aggregator.snapshotAndReset(p.clock.now(), 1), disableTags, max));
}

describe('statsdaemon format (gostatsd statsdaemon backend)', () => {
  it('re-emits each type as gostatsd does, with the tags key', () => {
    expect(packets('c:3|c|@0.5|#a:1\nt:0.0000001|ms\nt:2|ms\ng:-1.5|g\ns:x|s\nstatsd.own:1|c').packets).to.deep.equal([
      'c:6|c|#a:1,s:10.0.0.5\nt:0.0000001|ms|#,s:10.0.0.5\nt:2|ms|#,s:10.0.0.5\ng:-1.5|g|#,s:10.0.0.5\ns:x|s|#,s:10.0.0.5',
    ]);
    expect(packets('c:1|c', true).packets).to.deep.equal(['c:1|c']);
  });

  it('packs lines into packets of at most 1472 bytes', () => {
    const r = packets(
      Array.from({ length: 400 }, (_, i) => `some.longish.metric.name.${i}:${i}|c|#tag:value`).join('\n'),
    );
    expect(r.lines).to.equal(400);
    expect(r.packets.length).to.be.greaterThan(10);
    for (const p of r.packets) expect(Buffer.byteLength(p)).to.be.at.most(UDP_PACKET);
    expect(r.packets.join('\n').split('\n')).to.have.length(400);
  });

  it('writes events as DogStatsD _e{} lines', () => {
    expect(
      eventLine({
        title: 'déploy',
        text: 'a\nb',
        dateHappened: 5,
        hostname: 'h',
        aggregationKey: 'k',
        priority: 'low',
        sourceTypeName: 'ci',
        alertType: 'warning',
        tags: ['x:y', 'z'],
      }),
    ).to.equal('_e{7,4}:déploy|a\\nb|d:5|h:h|k:k|p:low|s:ci|t:warning|#x:y,z');
  });
});
