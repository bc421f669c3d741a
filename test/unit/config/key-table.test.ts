import { expect } from 'chai';
import { flagOptions } from '../../../src/cli/flags.js';
import { envOverrides } from '../../../src/config/load.js';
import { KEYS, SOURCE_KEYS, topLevelKeys, type KeySpec } from '../../../src/config/keys.js';
import { planReload } from '../../../src/config/reload-plan.js';
import { validateConfig } from '../../../src/config/validate.js';
import type { DaemonConfig } from '../../../src/config/config.js';
import { COMPONENTS } from '../../../src/daemon/components.js';
import { defaultText, shownDefault } from '../../../src/shared/config-key.js';

// One row per top-level key (src/config/keys.ts and each receiver's rows): these tests fail
// when what the daemon applies, reloads or shows disagrees with the row.

const ROWS = topLevelKeys(COMPONENTS);
/** Keys the validated config reads (not where the config comes from, not accepted-and-ignored). */
const READ = ROWS.filter((k) => !SOURCE_KEYS.has(k.key) && k.noEffect !== true);
/** Keys that only act with another setting, and that setting. */
const CONTEXT: Record<string, Record<string, unknown>> = {
  'sepagent-host': { backends: 'sepagent', sepagent: { port: 9999, sep_regexp: 'x', cluster_regexp: 'y' } },
  'sepagent-port': { backends: 'sepagent', sepagent: { port: 9999, sep_regexp: 'x', cluster_regexp: 'y' } },
  'unix-socket-mode': { 'unix-socket': '/run/statsd.sock' },
  'unix-socket-origin-detection': { 'unix-socket': '/run/statsd.sock' },
  'server-mode': { forwarder: { 'api-endpoint': 'http://127.0.0.1:1' } },
  'tcp-max-line-length': { 'tcp-addr': '127.0.0.1:8126' },
  'tcp-max-connections': { 'tcp-addr': '127.0.0.1:8126' },
  'tcp-idle-timeout': { 'tcp-addr': '127.0.0.1:8126' },
};
/** A valid value other than the default, by key where the type alone cannot say. */
const OTHER: Record<string, string> = {
  'metrics-addr': '127.0.0.1:18125',
  'tcp-addr': '127.0.0.1:18126',
  'web-addr': '127.0.0.1:18181',
  'unix-socket': '/run/other.sock',
  'unix-socket-mode': '0660',
  backends: 'null',
  'sepagent-host': 'sepagent.local',
  'sepagent-port': '9998',
  'http-servers': 'main',
  filters: 'f',
  'percent-threshold': '99',
  'default-tags': 'env:prod',
  namespace: 'app',
  hostname: 'other-host',
  'cloud-provider': '',
};

function configOf(doc: Record<string, unknown>): DaemonConfig {
  const v = validateConfig({ filter: { f: { 'drop-tags': 'x' } }, ...doc }, COMPONENTS, {});
  const errors = v.issues.filter((i) => i.severity === 'error');
  expect(errors, JSON.stringify(doc)).to.deep.equal([]);
  return v.config!;
}

function otherValue(k: KeySpec): string {
  if (OTHER[k.key] !== undefined) return OTHER[k.key]!;
  const d = defaultText(k);
  switch (k.type) {
    case 'bool':
      return d === 'true' ? 'false' : 'true';
    case 'int':
    case 'bytes':
      return String(Math.min(Number(d.replace(/\D/g, '') || '0') + (k.min ?? 1), k.max ?? Infinity) || 2);
    case 'duration':
      return '17s';
    default:
      return k.values?.find((v) => v !== d) ?? 'other';
  }
}

describe('the key table: one row per top-level key', () => {
  it('names every key once, receivers included', () => {
    const names = ROWS.map((k) => k.key);
    expect(names.length).to.equal(new Set(names).size);
    for (const r of COMPONENTS.receivers.values()) for (const row of r.rows) expect(names).to.include(row.key);
  });

  it('the default applied to an unset key is the one the row declares (and shows)', () => {
    for (const k of READ) {
      if (k.default === undefined && k.inherits === undefined) continue; // an override without a default of its own
      const context = CONTEXT[k.key] ?? {};
      const unset = configOf(context);
      const set = configOf({ ...context, [k.key]: k.inherits === undefined ? defaultText(k) : '5m' });
      expect(set, `${k.key} = ${defaultText(k)}`).to.deep.equal(unset);
      // What --help and the docs show is the default's text, or names where it comes from.
      if (k.shown === undefined && k.inherits === undefined) expect(shownDefault(k)).to.match(/^("")?\S*/);
    }
  });

  it('a changed value takes effect: the validated config differs from the default one', () => {
    for (const k of READ) {
      if (k.key === 'cloud-provider') continue; // only "" is valid
      const context = CONTEXT[k.key] ?? {};
      const changed = configOf({ ...context, [k.key]: otherValue(k) });
      expect(changed, k.key).not.to.deep.equal(configOf(context));
    }
  });

  it('a reload reports each changed key as live or restart-only exactly as its row says', () => {
    for (const k of READ) {
      if (k.key === 'cloud-provider' || k.key === 'server-mode' || k.key === 'json') continue;
      const context = CONTEXT[k.key] ?? {};
      const plan = planReload(configOf(context), configOf({ ...context, [k.key]: otherValue(k) }), {
        readsSharedSettings: () => false,
        reconfigurable: () => false,
        receiverKeys: (type) => COMPONENTS.receivers.get(type)?.keys ?? {},
      });
      const reported = [...plan.live, ...plan.restartRequired];
      const expected = k.field === 'backendConfigs' ? '[sepagent]' : k.inherits === undefined ? k.key : k.inherits;
      if (k.reload === 'live') expect(plan.live, k.key).to.include(expected);
      else {
        expect(plan.restartRequired, k.key).to.include(k.key === 'log-format' ? 'log-format' : expected);
        expect(plan.live, k.key).not.to.include(k.key);
      }
      expect(reported.length, k.key).to.be.greaterThan(0);
    }
  });

  it('every field of the validated config has a reload row', () => {
    const c = configOf({});
    expect(() =>
      planReload(c, c, { readsSharedSettings: () => false, reconfigurable: () => false, receiverKeys: () => ({}) }),
    ).not.to.throw();
    const fields = new Set(KEYS.flatMap((k) => (k.field === undefined ? [] : [k.field])));
    for (const f of Object.keys(c)) if (!fields.has(f as keyof DaemonConfig)) expect(f).to.be.oneOf(SECTION_ONLY);
  });

  it('flags and GSD_ variables come from the rows, with the row default shown', () => {
    const flags = flagOptions(COMPONENTS);
    for (const k of ROWS) {
      expect(flags[k.key]?.defaultDescription, k.key).to.equal(shownDefault(k));
      expect(flags[k.key]?.hidden, k.key).to.equal(k.noEffect === true);
    }
    const env = envOverrides({ GSD_METRICS_ADDR: ':9125', GSD_FLUSH_INTERVAL: '3s', GSD_CONFIGMAP: 'x' }, COMPONENTS);
    expect(env).to.deep.equal({ 'metrics-addr': ':9125', 'flush-interval': '3s' });
  });
});

/** Fields set by sections, not keys (their reload rows are SECTION_FIELDS). */
const SECTION_ONLY = ['receivers', 'backendConfigs', 'podTags', 'disabledPercentiles', 'disabledSubMetrics'];
