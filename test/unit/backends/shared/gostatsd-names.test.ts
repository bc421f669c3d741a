import { expect } from 'chai';
import { gostatsdPercentileName, percentileLabel } from '../../../../src/backends/shared/gostatsd-names.js';

describe('gostatsd percentile names', () => {
  it('names thresholds by their integer part, as the reference (99.9 → 99, -0.5 → 0)', () => {
    expect(percentileLabel(99.9)).to.equal('99');
    expect(percentileLabel(-0.5)).to.equal('0');
    expect(percentileLabel(-10.7)).to.equal('-10');
    expect(percentileLabel(90)).to.equal('90');
  });

  it('names every statistic of a threshold', () => {
    const names = (['count', 'mean', 'sum', 'sum_squares', 'upper'] as const).map((stat) =>
      gostatsdPercentileName({ stat, threshold: 99.9, value: 0 }),
    );
    expect(names).to.deep.equal(['count_99', 'mean_99', 'sum_99', 'sum_squares_99', 'upper_99']);
    expect(gostatsdPercentileName({ stat: 'lower', threshold: -50.5, value: 0 })).to.equal('lower_-50');
  });
});
