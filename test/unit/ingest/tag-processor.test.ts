import { expect } from 'chai';
import { compareUtf8, TagProcessor, type TagProcessorConfig } from '../../../src/ingest/tag-processor.js';
import { compilePattern } from '../../../src/ingest/filter.js';
import { makePipeline, send } from '../../support/pipeline.js';

const tp = (cfg: Partial<TagProcessorConfig> = {}): TagProcessor =>
  new TagProcessor({ ignoreHost: false, namespace: '', defaultTags: [], filters: [], ...cfg });

describe('TagProcessor', () => {
  it('builds the tags key of the reference: sorted tags, then ,s:<host>', () => {
    expect(tp().identify('m', [], '10.0.0.5')!.tagsKey).to.equal(',s:10.0.0.5');
    expect(tp().identify('m', ['b:2', 'a:1'], '10.0.0.5')!.tagsKey).to.equal('a:1,b:2,s:10.0.0.5');
    expect(tp({ ignoreHost: true }).identify('m', ['zone:a'], '10.0.0.5')!.tagsKey).to.equal('zone:a');
  });

  it('with ignore-host takes the first host: tag as the host and removes it', () => {
    const id = tp({ ignoreHost: true }).identify('m', ['x', 'host:web1', 'host:web2'], '10.0.0.5')!;
    expect(id.host).to.equal('web1');
    expect(id.tags).to.deep.equal(['host:web2', 'x']);
    expect(id.tagsKey).to.equal('host:web2,x,s:web1');
  });

  it('adds the namespace and default tags (once)', () => {
    const id = tp({ namespace: 'ns', defaultTags: ['env:prod', 'a'] }).identify('m', ['a'], '')!;
    expect(id.name).to.equal('ns.m');
    expect(id.tags).to.deep.equal(['a', 'env:prod']);
  });

  it('sorts by UTF-8 byte order like Go, not UTF-16 order', () => {
    expect(['\uffff', '😀', 'a'].sort(compareUtf8)).to.deep.equal(['a', '\uffff', '😀']);
    expect(['\uffff', '😀'].sort()).to.deep.equal(['😀', '\uffff']); // what JS would do
  });

  describe('filters', () => {
    const base = {
      excludeMetrics: [],
      matchTags: [],
      dropTags: [],
      dropMetric: false,
      dropHost: false,
      matchMetrics: [],
    };
    it('drops metrics, drops tags and clears the host when they apply', () => {
      const t = tp({
        defaultTags: ['secret'],
        filters: [
          { ...base, name: 'a', matchMetrics: ['debug.*'], dropMetric: true },
          {
            ...base,
            name: 'b',
            matchMetrics: ['api.*'],
            excludeMetrics: ['api.internal'],
            dropTags: ['secret', 'user:*'],
            dropHost: true,
          },
        ],
      });
      expect(t.identify('debug.x', [], 'h')).to.equal(undefined);
      const id = t.identify('api.req', ['user:1', 'ok', 'secret'], '10.0.0.5')!;
      expect(id).to.deep.equal({ name: 'api.req', tags: ['ok'], host: '', tagsKey: 'ok' });
      expect(t.identify('api.internal', ['user:1'], 'h')!.tags).to.deep.equal(['secret', 'user:1']);
    });
    it('match-tags restricts a filter to metrics carrying a matching tag', () => {
      const t = tp({ filters: [{ ...base, name: 'a', matchTags: ['drop:*'], dropMetric: true }] });
      expect(t.identify('m', ['drop:yes'], '')).to.equal(undefined);
      expect(t.identify('m', ['keep'], '')).to.not.equal(undefined);
    });
    it('pattern syntax: exact, prefix*, and ! inverts', () => {
      expect(compilePattern('abc*')('abcd')).to.equal(true);
      expect(compilePattern('abc*')('abc')).to.equal(true);
      expect(compilePattern('abc')('abcd')).to.equal(false);
      expect(compilePattern('!abc*')('abcd')).to.equal(false);
      expect(compilePattern('!abc*')('xyz')).to.equal(true);
    });
    it('counts filtered metrics in the ingest statistics', () => {
      const { ingester, stats } = makePipeline(
        {},
        { filters: [{ ...base, name: 'a', matchMetrics: ['x'], dropMetric: true }] },
      );
      send(ingester, 'x:1|c\ny:1|c');
      expect(stats.filtered).to.equal(1);
      expect(stats.samples.counter).to.equal(1);
    });
  });

  it('fills event host, date and default tags', () => {
    const { ingester, events, clock } = makePipeline({}, { defaultTags: ['env:prod'] });
    clock.setNow(1_556_100_410_500);
    send(ingester, '_e{1,1}:a|b|#t', '10.0.0.9');
    expect(events[0]).to.deep.include({ hostname: '10.0.0.9', dateHappened: 1556100410, tags: ['t', 'env:prod'] });
  });
});
