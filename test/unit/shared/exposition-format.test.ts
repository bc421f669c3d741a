import { expect } from 'chai';
import { textToOpenMetrics } from '../../../src/shared/exposition-format.js';

describe('textToOpenMetrics', () => {
  it('names counter families without _total, keeps their samples with it, and drops blank lines', () => {
    const text =
      '# HELP a_total Things.\n# TYPE a_total counter\na_total{x="1"} 3\n\n' +
      '# HELP b Bare counter.\n# TYPE b counter\nb 2\n\n' +
      '# HELP g A gauge.\n# TYPE g gauge\ng 1\n';
    expect(textToOpenMetrics(text)).to.equal(
      '# HELP a Things.\n# TYPE a counter\na_total{x="1"} 3\n' +
        '# HELP b Bare counter.\n# TYPE b counter\nb_total 2\n' +
        '# HELP g A gauge.\n# TYPE g gauge\ng 1\n',
    );
  });
});
