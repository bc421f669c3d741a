import { expect } from 'chai';
import { planReload as plan } from '../../../src/config/reload-plan.js';
import { RELOAD_OPTIONS } from '../../../src/daemon/components.js';
import type { DaemonConfig } from '../../../src/config/config.js';
import { testConfig } from '../../support/daemon-harness.js';

const SEP = (port: number): Record<string, unknown> => ({
  port,
  sep_regexp: 'sep([0-9]+)',
  cluster_regexp: 'external_cluster_sep([0-9]+)',
});

const planReload = (a: DaemonConfig, b: DaemonConfig) => plan(a, b, RELOAD_OPTIONS);

describe('planReload', () => {
  it('finds nothing to do for the same config', () => {
    const c = testConfig({ backends: 'sepagent stdout', sepagent: SEP(5555) });
    const p = planReload(c, testConfig({ backends: 'sepagent stdout', sepagent: SEP(5555) }));
    expect(p).to.deep.include({ live: [], restartRequired: [], startBackends: [], stopBackends: [] });
  });

  it('replaces a backend whose settings changed and keeps the others', () => {
    const c = testConfig({ backends: 'sepagent stdout', sepagent: SEP(5555) });
    const p = planReload(c, testConfig({ backends: 'sepagent stdout', sepagent: SEP(6666) }));
    expect(p.startBackends).to.deep.equal(['sepagent']);
    expect(p.stopBackends).to.deep.equal(['sepagent']);
    expect(p.live).to.deep.equal(['[sepagent]']);
  });

  it('reconfigures a reconfigurable backend in place when its section or max-series changes', () => {
    const m1 = { mapping: 'mappings:\n- match: a.*\n  name: a\n' };
    const c = testConfig({ backends: 'prometheus stdout', prometheus: m1 });
    const same = planReload(c, testConfig({ backends: 'prometheus stdout', prometheus: m1 }));
    expect(same).to.deep.include({ startBackends: [], stopBackends: [], reconfigureBackends: [] });
    const p = planReload(c, testConfig({ backends: 'prometheus stdout', prometheus: { mapping: 'mappings: []' } }));
    expect(p).to.deep.include({ startBackends: [], stopBackends: [], reconfigureBackends: ['prometheus'] });
    expect(p.live).to.deep.equal(['[prometheus]']);
    const cap = planReload(c, testConfig({ backends: 'prometheus stdout', prometheus: m1, 'max-series': 10 }));
    expect(cap.reconfigureBackends).to.deep.equal(['prometheus']);
    // A newly selected instance is started, not reconfigured.
    const added = planReload(testConfig({ backends: 'stdout' }), c);
    expect(added).to.deep.include({ startBackends: ['prometheus'], reconfigureBackends: [] });
  });

  it('adds and removes backends', () => {
    const c = testConfig({ backends: 'stdout null' });
    const p = planReload(c, testConfig({ backends: 'null sepagent', sepagent: SEP(1) }));
    expect(p.startBackends).to.deep.equal(['sepagent']);
    expect(p.stopBackends).to.deep.equal(['stdout']);
    expect(p.effective.backends).to.deep.equal(['null', 'sepagent']);
  });

  it('recreates only the backends that read disabled sub-metrics when those change', () => {
    const c = testConfig({ backends: 'stdout null' });
    const p = planReload(c, testConfig({ backends: 'stdout null', 'disabled-sub-metrics': { sum: true } }));
    expect(p.startBackends).to.deep.equal(['stdout']);
    expect(p.stopBackends).to.deep.equal(['stdout']);
  });

  it('plans per instance: a changed [sepagent.canary] replaces only that instance', () => {
    const c = testConfig({ backends: 'sepagent sepagent.canary', sepagent: { ...SEP(5555), canary: SEP(5556) } });
    const p = planReload(
      c,
      testConfig({ backends: 'sepagent sepagent.canary', sepagent: { ...SEP(5555), canary: SEP(7777) } }),
    );
    expect(p.startBackends).to.deep.equal(['sepagent.canary']);
    expect(p.stopBackends).to.deep.equal(['sepagent.canary']);
    expect(p.live).to.deep.equal(['[sepagent.canary]']);
  });

  it('keeps restart-only keys at their running values and names them', () => {
    const c = testConfig({ backends: 'null' });
    const p = planReload(
      c,
      testConfig({ backends: 'null', 'metrics-addr': '127.0.0.1:9', 'log-format': 'text', 'flush-interval': '3s' }),
    );
    expect(p.restartRequired).to.have.members(['metrics-addr', 'log-format']);
    expect(p.live).to.deep.equal(['flush-interval']);
    expect(p.effective.receivers).to.deep.equal(c.receivers);
    expect(p.effective.logFormat).to.equal(c.logFormat);
    expect(p.effective.flushIntervalMs).to.equal(3000);
  });
});
