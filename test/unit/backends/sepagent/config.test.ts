import { expect } from 'chai';
import { validateSepAgentConfig } from '../../../../src/backends/sepagent/config.js';
import type { ConfigIssue } from '../../../../src/shared/errors.js';

function validate(raw: unknown): { issues: ConfigIssue[]; cfg: ReturnType<typeof validateSepAgentConfig> } {
  const issues: ConfigIssue[] = [];
  const cfg = validateSepAgentConfig(raw, 'sepagent', issues);
  return { issues, cfg };
}
const paths = (issues: ConfigIssue[]): string[] => issues.map((i) => i.path);
const good = {
  host: 'localhost',
  port: 5555,
  sep_regexp: 'sep([0-9]+)',
  cluster_regexp: 'external_cluster_sep([0-9]+)',
};

describe('validateSepAgentConfig', () => {
  it('accepts the reference example and defaults max_datagram_bytes to 65507', () => {
    const { issues, cfg } = validate(good);
    expect(issues).to.deep.equal([]);
    expect(cfg).to.deep.equal({
      host: 'localhost',
      port: 5555,
      sepRegexp: 'sep([0-9]+)',
      clusterRegexp: 'external_cluster_sep([0-9]+)',
      maxDatagramBytes: 65507,
    });
  });
  it('accepts the port as a string (environment-style)', () => {
    expect(validate({ ...good, port: '5555' }).cfg.port).to.equal(5555);
  });
  it('reports every problem with its key path', () => {
    const { issues } = validate({
      host: 'a b',
      port: 70000,
      sep_regexp: '(',
      cluster_regexp: '',
      max_datagram_bytes: 100,
      typo: 1,
    });
    expect(paths(issues)).to.have.members([
      'sepagent.typo',
      'sepagent.port',
      'sepagent.sep_regexp',
      'sepagent.cluster_regexp',
      'sepagent.max_datagram_bytes',
      'sepagent.host',
    ]);
    expect(issues.find((i) => i.path === 'sepagent.sep_regexp')!.message).to.match(/invalid regular expression "\("/);
  });
  it('requires the section, the port and both regexps', () => {
    expect(paths(validate(undefined).issues)).to.deep.equal(['sepagent']);
    expect(paths(validate({ host: 'x' }).issues)).to.have.members([
      'sepagent.port',
      'sepagent.sep_regexp',
      'sepagent.cluster_regexp',
    ]);
  });
  it('suggests the right spelling for kebab-case keys', () => {
    const { issues } = validate({ ...good, 'sep-regexp': 'x' });
    expect(issues[0]!.message).to.contain('use "sep_regexp"');
  });
});
