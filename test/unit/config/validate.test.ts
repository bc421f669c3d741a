import { expect } from 'chai';
import { COMPONENTS } from '../../../src/daemon/components.js';
import { validateConfig } from '../../../src/config/validate.js';
import { formatIssues, issuesOnOneLine, MAX_SHOWN_ISSUES } from '../../../src/shared/errors.js';

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
    it('refuses a million thresholds with one short error instead of a million', () => {
      const million = Array.from({ length: 1_000_000 }, (_, i) => String(i % 100));
      const { issues } = validateConfig({ 'percent-threshold': million }, COMPONENTS);
      expect(issues.filter((i) => i.severity === 'error')).to.have.length(1);
      expect(issues[0]!.message).to.contain('lists 1000000 thresholds; at most 201');
      expect(formatIssues(issues).length).to.be.lessThan(200);
    });
    it('shows at most 50 problems of a document, saying how many more there are', () => {
      const raw = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`nope-${i}`, 1]));
      const { issues } = validateConfig(raw, COMPONENTS);
      expect(issues.length).to.be.at.least(120);
      expect(issuesOnOneLine(issues)).to.match(/; … and \d+ more problems$/);
      expect(formatIssues(issues).split('\n')).to.have.length(MAX_SHOWN_ISSUES + 1);
    });
    it('reports an unknown key named __proto__ as unknown, whatever hints the section has', () => {
      const raw = JSON.parse(
        '{"sepagent": {"__proto__": 1, "port": 1, "sep_regexp": "s", "cluster_regexp": "c"}, "backends": "sepagent"}',
      ) as Record<string, unknown>;
      const issues = validateConfig(raw, COMPONENTS).issues.filter((i) => i.path === 'sepagent.__proto__');
      expect(issues.map((i) => i.message)).to.deep.equal(['unknown key']);
    });
    it('rejects a remote-write header value with a line break (every write would fail)', () => {
      const raw = {
        backends: 'prometheus-remote-write',
        'prometheus-remote-write': {
          url: 'http://127.0.0.1:9/api/v1/write',
          headers: { 'X-Scope-OrgID': 'a\r\nInjected: 1' },
        },
      };
      expect(errorPaths(validateConfig(raw, COMPONENTS).issues)).to.deep.equal([
        'prometheus-remote-write.headers.X-Scope-OrgID',
      ]);
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
    it('rejects an unknown server mode and cloud providers with a reason', () => {
      const r = validateConfig({ 'server-mode': 'relay', 'cloud-provider': 'aws' }, COMPONENTS);
      expect(errorPaths(r.issues)).to.have.members(['server-mode', 'cloud-provider']);
    });
    it("server-mode = forwarder runs the forwarder alone, set up by gostatsd's [http-transport]", () => {
      const r = validateConfig(
        {
          'server-mode': 'forwarder',
          backends: 'graphite',
          'flush-interval': '10s',
          'http-transport': { 'api-endpoint': 'http://agg:8080', 'flush-interval': '2s', compress: false },
        },
        COMPONENTS,
      );
      expect(errorPaths(r.issues)).to.deep.equal([]);
      expect(r.issues.map((i) => i.path)).to.include('backends');
      expect(r.config!.backends).to.deep.equal(['forwarder']);
      expect(r.config!.flushIntervalMs).to.equal(2000);
      expect(r.config!.backendConfigs['forwarder']).to.deep.include({
        apiEndpoints: ['http://agg:8080'],
        compress: false,
      });
    });
    it('names [http-transport] in its errors, and refuses it beside [forwarder]', () => {
      expect(
        errorPaths(validateConfig({ 'server-mode': 'forwarder', 'http-transport': {} }, COMPONENTS).issues),
      ).to.deep.equal(['http-transport.api-endpoint']);
      const both = validateConfig(
        {
          backends: 'forwarder',
          forwarder: { 'api-endpoint': 'http://a' },
          'http-transport': { 'api-endpoint': 'http://b' },
        },
        COMPONENTS,
      );
      expect(errorPaths(both.issues)).to.deep.equal(['http-transport']);
    });
    it('the forwarder can run beside other backends, from [forwarder] or [http-transport]', () => {
      for (const section of ['forwarder', 'http-transport']) {
        const r = validateConfig(
          { backends: 'null forwarder', [section]: { 'api-endpoint': 'https://agg.example:8443' } },
          COMPONENTS,
        );
        expect(errorPaths(r.issues), section).to.deep.equal([]);
        expect(r.config!.backends).to.deep.equal(['null', 'forwarder']);
      }
      const unused = validateConfig({ 'http-transport': { 'api-endpoint': 'x' } }, COMPONENTS);
      expect(errorPaths(unused.issues)).to.deep.equal([]);
      expect(unused.issues.map((i) => i.path)).to.deep.equal(['http-transport']);
    });
    it('checks the forwarder endpoint and network', () => {
      const r = validateConfig(
        { backends: 'forwarder', forwarder: { 'api-endpoint': 'ftp://x', network: 'udp', 'max-requests': 0 } },
        COMPONENTS,
      );
      expect(errorPaths(r.issues)).to.have.members([
        'forwarder.api-endpoint',
        'forwarder.network',
        'forwarder.max-requests',
      ]);
    });
    it("checks the push backends' sections, naming the key", () => {
      const r = validateConfig(
        {
          backends: 'graphite statsdaemon prometheus-remote-write',
          graphite: { address: 'carbon', mode: 'fancy', dial_timeout: 'soon' },
          statsdaemon: { tls_cert_path: '/nonexistent.pem' },
          'prometheus-remote-write': {
            url: 'http://user:pw@vm:8428/api/v1/write',
            username: 'a',
            headers: { Authorization: 'x', 'X-Scope-OrgID': 'team' },
            counters: 'sometimes',
            'send-native-histograms': 'yes please',
          },
        },
        COMPONENTS,
      );
      expect(errorPaths(r.issues)).to.have.members([
        'graphite.address',
        'graphite.mode',
        'graphite.dial_timeout',
        'statsdaemon.address',
        'statsdaemon.tls_cert_path',
        'statsdaemon.tls_cert_path',
        'prometheus-remote-write.url',
        'prometheus-remote-write.username',
        'prometheus-remote-write.headers.Authorization',
        'prometheus-remote-write.counters',
        'prometheus-remote-write.send-native-histograms',
      ]);
      // The messages name files and keys, never a credential's value.
      expect(r.issues.map((i) => i.message).join(' ')).to.not.contain('pw@');
      const ok = validateConfig(
        {
          backends: ['graphite', 'statsdaemon', 'prometheus-remote-write'],
          graphite: { address: '127.0.0.1:2003', legacy_namespace: false },
          statsdaemon: { address: '127.0.0.1:8126', tcp_transport: true },
          'prometheus-remote-write': { url: 'http://vm:8428/api/v1/write', headers: { 'X-Scope-OrgID': 'team' } },
        },
        COMPONENTS,
      );
      expect(errorPaths(ok.issues)).to.deep.equal([]);
      expect(ok.config!.backendConfigs['prometheus-remote-write']).to.deep.include({
        headers: { 'x-scope-orgid': 'team' },
        sendNativeHistograms: false,
      });
    });
    it("loads gostatsd's documented backend sections unchanged (warnings for what has no effect here)", () => {
      const saved = process.env['AWS_REGION'];
      process.env['AWS_REGION'] = 'eu-west-1';
      try {
        const r = validateConfig(
          {
            backends: 'cloudwatch graphite newrelic datadog statsdaemon',
            transport: { default: { 'client-timeout': '10s' } },
            cloudwatch: { 'batch-duration': '50ms', namespace: 'StatsD', transport: 'default' },
            graphite: {
              address: 'localhost:2003',
              dial_timeout: '5s',
              write_timeout: '30s',
              mode: 'tags',
              global_prefix: 'stats',
              global_suffix: '',
              prefix_counter: 'counters',
              prefix_timer: 'timers',
              prefix_gauge: 'gauges',
              prefix_sets: 'sets',
            },
            newrelic: {
              transport: 'default',
              address: 'https://insights-collector.newrelic.com/v1/accounts/1/events',
              'api-key': 'yourEventAPIInsertKey',
              'flush-type': 'insights',
              'tag-prefix': '',
              'metric-name': 'name',
              'timer-sumsquare': 'samples_sum_squares',
            },
            datadog: {
              api_key: 'abc',
              metrics_per_batch: 1000,
              compress_payload: true,
              max_requests: 8,
              transport: 'default',
            },
            statsdaemon: { address: 'localhost:8125', disable_tags: false },
          },
          COMPONENTS,
        );
        expect(errorPaths(r.issues)).to.deep.equal([]);
        expect(r.config!.backends).to.have.length(5);
      } finally {
        if (saved === undefined) delete process.env['AWS_REGION'];
        else process.env['AWS_REGION'] = saved;
      }
    });
    it('reads gostatsd HTTP servers: defaults, a server with nothing enabled, sections not listed', () => {
      const r = validateConfig(
        {
          'http-servers': 'main probe',
          http: {
            main: { 'enable-ingestion': true, 'enable-prof': true },
            probe: { 'enable-healthcheck': false, address: '127.0.0.1:8081' },
            spare: {},
          },
        },
        COMPONENTS,
      );
      expect(errorPaths(r.issues)).to.deep.equal(['http.probe']);
      expect(r.issues.filter((i) => i.severity === 'warning').map((i) => i.path)).to.have.members([
        'http.main.enable-prof',
        'http.spare',
      ]);
      const ok = validateConfig(
        { 'http-servers': ['main'], http: { main: { 'enable-ingestion': 'true', address: ':0' } } },
        COMPONENTS,
      );
      expect(ok.config!.receivers['http']).to.deep.include({ names: ['main'] });
      expect((ok.config!.receivers['http'] as { servers: unknown[] }).servers[0]).to.deep.include({
        address: ':0',
        ingestion: true,
        healthcheck: true,
        maxBodyBytes: 8 * 1024 * 1024,
      });
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
