import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { mapperOf, validatePrometheusConfig } from '../../../../src/backends/prometheus/config.js';
import type { ConfigIssue } from '../../../../src/shared/errors.js';

function validate(raw: unknown): { issues: ConfigIssue[]; cfg: ReturnType<typeof validatePrometheusConfig> } {
  const issues: ConfigIssue[] = [];
  return { issues, cfg: validatePrometheusConfig(raw, 'prometheus', issues) };
}

describe('validatePrometheusConfig', () => {
  it('defaults to /metrics and no mapping', () => {
    const { issues, cfg } = validate(undefined);
    expect(issues).to.deep.equal([]);
    expect(cfg.path).to.equal('/metrics');
    expect(mapperOf(cfg).map('a.b', 'counter').rule).to.equal(-1);
  });

  it('reads the mapping file, and reports its problems under mapping-config with the YAML path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'promcfg-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'mappings:\n- match: a.*\n  name: a_$1\n');
    const ok = validate({ 'mapping-config': good });
    expect(ok.issues).to.deep.equal([]);
    expect(mapperOf(ok.cfg).map('a.x', 'counter').name).to.equal('a_x');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'mappings:\n- match: a.*\n');
    expect(validate({ 'mapping-config': bad }).issues.map((i) => i.path)).to.deep.equal([
      'prometheus.mapping-config: mappings[0].name',
    ]);
    const missing = validate({ 'mapping-config': join(dir, 'none.yaml') }).issues;
    expect(missing[0]!.path).to.equal('prometheus.mapping-config');
    expect(missing[0]!.message).to.match(/cannot read/);
  });

  it('takes an inline mapping as YAML text or as a map, not together with a file', () => {
    const text = validate({ mapping: 'mappings:\n- match: b.*\n  name: b\n' });
    expect(mapperOf(text.cfg).map('b.1', 'gauge').name).to.equal('b');
    const map = validate({ mapping: { mappings: [{ match: 'c.*', name: 'c' }] } });
    expect(map.issues).to.deep.equal([]);
    expect(mapperOf(map.cfg).map('c.1', 'gauge').name).to.equal('c');
    expect(validate({ mapping: 'mappings: []', 'mapping-config': '/x' }).issues.map((i) => i.path)).to.include(
      'prometheus.mapping',
    );
  });

  it('names unknown keys and bad paths', () => {
    const { issues } = validate({ path: 'metrics', mapping_config: 'x' });
    expect(issues.map((i) => i.path)).to.deep.equal(['prometheus.mapping_config', 'prometheus.path']);
  });
});
