import { expect } from 'chai';
import { validateGraphiteConfig } from '../../../../src/backends/graphite/config.js';
import { renderGraphite, sanitiseName } from '../../../../src/backends/graphite/format.js';
import { runToEnd } from '../../../../src/shared/cooperative.js';
import { NO_DISABLED_SUB_METRICS } from '../../../support/backend-metrics.js';
import { makePipeline, send } from '../../../support/pipeline.js';

function render(lines: string, section: Record<string, unknown> = {}, disabled = NO_DISABLED_SUB_METRICS): string {
  const p = makePipeline({ percentThresholds: [90] });
  send(p.ingester, lines);
  const s = p.aggregator.snapshotAndReset(1_556_100_400_000, 1);
  return runToEnd(renderGraphite(s, validateGraphiteConfig(section, 'graphite', []), disabled)).text;
}

describe('graphite format (gostatsd graphite backend)', () => {
  it('one counter, one timer value, one gauge, one set in the legacy namespace', () => {
    expect(render('c:2|c|@0.5\nt:7|ms\ng:1.5|g\ns:x|s').split('\n')).to.deep.equal([
      'stats_counts.c 4 1556100400',
      'stats.c 4.000000 1556100400',
      'stats.timers.t.lower 7.000000 1556100400',
      'stats.timers.t.upper 7.000000 1556100400',
      'stats.timers.t.count 1 1556100400',
      'stats.timers.t.count_ps 1.000000 1556100400',
      'stats.timers.t.mean 7.000000 1556100400',
      'stats.timers.t.median 7.000000 1556100400',
      'stats.timers.t.std 0.000000 1556100400',
      'stats.timers.t.sum 7.000000 1556100400',
      'stats.timers.t.sum_squares 49.000000 1556100400',
      'stats.timers.t.count_90 1 1556100400'.replace(' 1 ', ' 1.000000 '),
      'stats.timers.t.mean_90 7.000000 1556100400',
      'stats.timers.t.sum_90 7.000000 1556100400',
      'stats.timers.t.sum_squares_90 49.000000 1556100400',
      'stats.timers.t.upper_90 7.000000 1556100400',
      'stats.gauges.g 1.500000 1556100400',
      'stats.sets.s 1 1556100400',
      '',
    ]);
  });

  it('prefixes and suffix without the legacy namespace; empty prefixes are left out', () => {
    expect(
      render('c:1|c\ng:2|g', { legacy_namespace: false, global_prefix: '', prefix_gauge: 'g', global_suffix: 'x' }),
    ).to.equal('counters.c.count.x 1 1556100400\ncounters.c.rate.x 1.000000 1556100400\ng.g.x 2.000000 1556100400\n');
  });

  it('mode = "tags" writes Graphite 1.1 tagged series with the host, in the basic naming', () => {
    expect(render('req:1|c|#route:a,canary', { mode: 'tags' })).to.equal(
      'stats.counters.req.count;canary=true;route=a;host=10.0.0.5 1 1556100400\n' +
        'stats.counters.req.rate;canary=true;route=a;host=10.0.0.5 1.000000 1556100400\n',
    );
  });

  it('mode = "legacy" and "basic" are gostatsd\'s later names for legacy_namespace; the suffix applies to both', () => {
    expect(render('c:1|c', { mode: 'legacy', global_suffix: 'x' })).to.equal(
      'stats_counts.c.x 1 1556100400\nstats.c.x 1.000000 1556100400\n',
    );
    expect(render('s:a|s', { mode: 'basic', prefix_sets: 'uniques' })).to.equal('stats.uniques.s 1 1556100400\n');
  });

  it('sanitises names as gostatsd does, and honours disabled sub-metrics', () => {
    expect(sanitiseName('a b/c€d')).to.equal('a_b-cd');
    const text = render('t:1|ms', {}, { ...NO_DISABLED_SUB_METRICS, median: true, stddev: true });
    expect(text).to.not.contain('.median');
    expect(text).to.not.contain('.std ');
  });
});
