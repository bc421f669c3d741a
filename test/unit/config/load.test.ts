import { expect } from 'chai';
import { COMPONENTS } from '../../../src/daemon/components.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, loadRawConfig, parseDocument } from '../../../src/config/load.js';
import { validateConfig } from '../../../src/config/validate.js';
import type { ConfigError } from '../../../src/shared/errors.js';

const F = 'test/fixtures/config/';
const errorPaths = (issues: Array<{ path: string; severity: string }>): string[] =>
  issues.filter((i) => i.severity === 'error').map((i) => i.path);

describe('config loading (src/config/load.ts)', () => {
  it('refuses a config file with invalid UTF-8, naming the line, instead of replacing the byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'utf8-'));
    const path = join(dir, 'config.toml');
    writeFileSync(
      path,
      Buffer.concat([Buffer.from('backends = "null"\nnamespace = "a'), Buffer.from([0xc3]), Buffer.from('"\n')]),
    );
    const { issues } = await loadRawConfig({ configPath: path, env: {} }, COMPONENTS);
    expect(issues.map((i) => `${i.path}: ${i.message}`)).to.deep.equal([
      `config-path: cannot read "${path}": invalid UTF-8 on line 2`,
    ]);
  });

  describe('loadConfig', () => {
    it("loads the fork's example TOML unchanged", async () => {
      const { config } = await loadConfig({ configPath: F + 'valid-fork.toml', env: {} }, COMPONENTS);
      expect(config.backends).to.deep.equal(['sepagent']);
      expect(config.maxWorkers).to.equal(1);
      expect(config.flushIntervalMs).to.equal(10_000);
      expect(config.percentThresholds).to.deep.equal([90]);
      expect(config.backendConfigs['sepagent']).to.deep.equal({
        host: 'localhost',
        port: 5555,
        sepRegexp: 'sep([0-9]+)',
        clusterRegexp: 'external_cluster_sep([0-9]+)',
        maxDatagramBytes: 65507,
      });
    });

    it('loads YAML with every feature, case-insensitive keys, and warns about ignored sections', async () => {
      const { config, warnings } = await loadConfig({ configPath: F + 'valid-full.yaml', env: {} }, COMPONENTS);
      expect(config).to.deep.include({
        maxWorkers: 2,
        flushIntervalMs: 500,
        percentThresholds: [90, 99.9, -10],
        defaultTags: ['env:prod', 'team:core'],
        namespace: 'svc',
        ignoreHost: true,
        badLinesPerMinute: 10,
      });
      expect(config.receivers['udp']).to.deep.include({ receiveBufferBytes: 4 * 1024 * 1024 });
      expect(config.receivers['tcp']).to.deep.equal({
        address: '127.0.0.1:8126',
        maxLineBytes: 65536,
        maxConnections: 1024,
        idleTimeoutMs: 60_000,
      });
      expect(config.expiry).to.deep.equal({ counterMs: 60_000, gaugeMs: 0, setMs: 60_000, timerMs: 60_000 });
      expect(config.disabledPercentiles.count).to.equal(true);
      expect(config.disabledSubMetrics.stddev).to.equal(true);
      expect(config.filters).to.deep.equal([
        {
          name: 'drop-debug',
          matchMetrics: ['debug.*'],
          excludeMetrics: [],
          matchTags: [],
          dropTags: [],
          dropMetric: true,
          dropHost: false,
        },
      ]);
      expect(warnings.map((w) => w.path)).to.deep.equal(['influxdb']);
    });

    it('loads JSON', async () => {
      const { config } = await loadConfig({ configPath: F + 'valid-min.json', env: {} }, COMPONENTS);
      expect(config.backends).to.deep.equal(['null']);
      expect(config.flushIntervalMs).to.equal(2000);
    });

    it('rejects a broken file with every problem and its key path', async () => {
      const err = (await loadConfig({ configPath: F + 'invalid-many.toml', env: {} }, COMPONENTS).catch(
        (e: unknown) => e,
      )) as ConfigError;
      expect(err.code).to.equal('ERR_CONFIG_INVALID');
      const expected = JSON.parse(readFileSync(F + 'invalid-many.expected.json', 'utf8')) as string[];
      expect(errorPaths([...err.issues])).to.have.members(expected);
      expect(err.message).to.contain('flush_interval: unknown key; use "flush-interval" instead');
      expect(err.message).to.contain('backend "influxdb" is not available in this version');
    });

    it('names the line of a syntax error', async () => {
      const err = (await loadConfig({ configPath: F + 'invalid-syntax.toml', env: {} }, COMPONENTS).catch(
        (e: unknown) => e,
      )) as ConfigError;
      expect(err.issues[0]!.message).to.match(/TOML syntax error: line 2/);
    });

    it('rejects unknown file types and missing files clearly', async () => {
      const a = (await loadConfig({ configPath: 'x.ini', env: {} }, COMPONENTS).catch(
        (e: unknown) => e,
      )) as ConfigError;
      expect(a.issues[0]!.message).to.contain('unknown file type');
      const b = (await loadConfig({ configPath: F + 'nope.toml', env: {} }, COMPONENTS).catch(
        (e: unknown) => e,
      )) as ConfigError;
      expect(b.issues[0]!.message).to.contain('cannot read');
    });
  });

  describe('precedence: flag > GSD_ env > file > default', () => {
    it('applies env over the file and flags over env', async () => {
      const env = { GSD_FLUSH_INTERVAL: '3s', GSD_MAX_WORKERS: '3', GSD_BACKENDS: 'null' };
      const { config } = await loadConfig(
        {
          configPath: F + 'valid-fork.toml',
          env,
          flags: { 'flush-interval': '4s' },
        },
        COMPONENTS,
      );
      expect(config.flushIntervalMs).to.equal(4000);
      expect(config.maxWorkers).to.equal(3);
      expect(config.backends).to.deep.equal(['null']);
    });
    it('uses defaults when nothing is given', async () => {
      const { config } = await loadConfig({ env: {} }, COMPONENTS);
      expect(config.receivers).to.deep.equal({
        udp: { address: '127.0.0.1:8125', receiveBufferBytes: 8 * 1024 * 1024, mode: 'auto' },
      });
      expect(config).to.deep.include({
        webAddr: '127.0.0.1:8181',
        flushIntervalMs: 1000,
        percentThresholds: [90],
        backends: ['stdout'],
        logFormat: 'json',
        shutdownTimeoutMs: 10_000,
      });
      expect(config.expiry.counterMs).to.equal(300_000);
    });
    it('env vars do not reach sections', async () => {
      const { raw } = await loadRawConfig({ env: { GSD_SEPAGENT: 'x', GSD_SEPAGENT_SEP_REGEXP: '1' } }, COMPONENTS);
      expect(raw).to.deep.equal({});
    });
    it('maps gostatsd json=false to text logs, and log-format wins', () => {
      expect(validateConfig({ json: 'false' }, COMPONENTS).config?.logFormat).to.equal('text');
      expect(validateConfig({ json: false, 'log-format': 'json' }, COMPONENTS).config?.logFormat).to.equal('json');
    });
  });

  describe('parseDocument', () => {
    it('rejects a document that is not a map', () => {
      expect(parseDocument('[1,2]', 'json').issues[0]!.message).to.contain('must be a map');
      expect(parseDocument('- a', 'yaml').issues[0]!.message).to.contain('must be a map');
    });
    it('treats an empty YAML document as empty', () => {
      expect(parseDocument('', 'yaml')).to.deep.equal({ doc: {}, issues: [] });
    });
    it('names the line of a JSON syntax error', () => {
      expect(parseDocument('{\n"a": 1,\n}', 'json').issues[0]!.message).to.match(/line 3/);
    });
  });
});
