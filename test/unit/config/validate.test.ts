import { expect } from 'chai';
import { COMPONENTS } from '../../../src/daemon/components.js';
import { validateConfig } from '../../../src/config/validate.js';

const errorPaths = (issues: Array<{ path: string; severity: string }>): string[] =>
  issues.filter((i) => i.severity === 'error').map((i) => i.path);

describe('config validation (src/config/validate.ts)', () => {
  describe('validateConfig', () => {
    it('takes udp-receiver auto, batch or dgram (any case) and names the key otherwise', () => {
      const udp = (raw: Record<string, unknown>) => validateConfig(raw, COMPONENTS).config?.receivers['udp'];
      expect(udp({})).to.deep.include({ mode: 'auto', address: '127.0.0.1:8125' });
      expect(udp({ 'udp-receiver': 'DGRAM' })).to.deep.include({ mode: 'dgram' });
      const bad = validateConfig({ 'udp-receiver': 'epoll' }, COMPONENTS).issues;
      expect(errorPaths(bad)).to.deep.equal(['udp-receiver']);
      expect(bad[0]!.message).to.contain('"auto", "batch" or "dgram"');
    });
    it('rejects thresholds outside [-100, 100] (they crash the reference)', () => {
      expect(errorPaths(validateConfig({ 'percent-threshold': '101' }, COMPONENTS).issues)).to.deep.equal([
        'percent-threshold',
      ]);
    });
    it('rejects thresholds whose gostatsd names would collide, naming both', () => {
      const r = validateConfig({ 'percent-threshold': '90 99 99.9' }, COMPONENTS);
      expect(errorPaths(r.issues)).to.deep.equal(['percent-threshold']);
      expect(r.issues[0]!.message).to.contain('99 and 99.9').and.contain('*_99');
      expect(validateConfig({ 'percent-threshold': '-0.5 0' }, COMPONENTS).issues[0]!.message).to.contain('*_0');
      expect(validateConfig({ 'percent-threshold': '90 90' }, COMPONENTS).issues[0]!.message).to.contain(
        'listed twice',
      );
      expect(
        validateConfig({ 'percent-threshold': '90 99.9 -10' }, COMPONENTS).config?.percentThresholds,
      ).to.deep.equal([90, 99.9, -10]);
    });
    describe('backend instances', () => {
      const SEP = { sep_regexp: 'sep([0-9]+)', cluster_regexp: 'c_sep([0-9]+)' };
      it('reads [type] for the type and [type.name] for another instance of it', () => {
        const r = validateConfig(
          { backends: ['sepagent', 'sepagent.canary'], sepagent: { ...SEP, port: 1, canary: { ...SEP, port: 2 } } },
          COMPONENTS,
        );
        expect(r.issues).to.deep.equal([]);
        expect(r.config!.backends).to.deep.equal(['sepagent', 'sepagent.canary']);
        const ports = r.config!.backends.map((b) => (r.config!.backendConfigs[b] as { port: number }).port);
        expect(ports).to.deep.equal([1, 2]);
      });
      it('an instance alone needs only its own section', () => {
        const r = validateConfig({ backends: 'sepagent.b', sepagent: { b: { ...SEP, port: 3 } } }, COMPONENTS);
        expect(r.issues).to.deep.equal([]);
      });
      it('names the instance in errors of its section', () => {
        const r = validateConfig(
          { backends: 'sepagent sepagent.b', sepagent: { ...SEP, port: 1, b: { ...SEP, port: 0 } } },
          COMPONENTS,
        );
        expect(errorPaths(r.issues)).to.deep.equal(['sepagent.b.port']);
      });
      it('rejects bad instance names, unknown types and an instance section that is not a section', () => {
        const r = validateConfig(
          { backends: ['stdout.A b', 'nope.x', 'sepagent.c'], sepagent: { ...SEP, port: 1, c: 5 } },
          COMPONENTS,
        );
        expect(errorPaths(r.issues)).to.have.members(['backends[0]', 'backends[1]', 'sepagent.c', 'sepagent.c']);
        expect(r.issues.map((i) => i.message).join('\n'))
          .to.contain('instance name')
          .and.contain('unknown backend "nope"');
      });
    });
    it('rejects a listed backend without its section', () => {
      expect(errorPaths(validateConfig({ backends: 'sepagent' }, COMPONENTS).issues)).to.deep.equal(['sepagent']);
    });
    it('checks a sepagent section even when the backend is not selected', () => {
      expect(errorPaths(validateConfig({ sepagent: { port: 0 } }, COMPONENTS).issues)).to.include('sepagent.port');
    });
    it('rejects forwarder mode, cloud providers and HTTP servers with a reason', () => {
      const r = validateConfig(
        { 'server-mode': 'forwarder', 'cloud-provider': 'aws', 'http-servers': 'a' },
        COMPONENTS,
      );
      expect(errorPaths(r.issues)).to.have.members(['server-mode', 'cloud-provider', 'http-servers']);
    });
    it('type-checks keys that have no effect here', () => {
      expect(errorPaths(validateConfig({ 'max-readers': 'many' }, COMPONENTS).issues)).to.deep.equal(['max-readers']);
    });
    it('rejects a duplicated backend and an unknown [disabled-sub-metrics] key', () => {
      const r = validateConfig({ backends: 'null null', 'disabled-sub-metrics': { std: true } }, COMPONENTS);
      expect(errorPaths(r.issues)).to.have.members(['backends[1]', 'disabled-sub-metrics.std']);
    });
  });
});
