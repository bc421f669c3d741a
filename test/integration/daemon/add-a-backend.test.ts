import { expect } from 'chai';
import type { FlushSnapshot } from '../../../src/aggregator/snapshot.js';
import type { Backend, BackendDeps, BackendFactory } from '../../../src/backends/backend.js';
import { validateConfig } from '../../../src/config/validate.js';
import { COMPONENTS, type Components } from '../../../src/daemon/components.js';
import { Daemon } from '../../../src/daemon/daemon.js';
import { Checker } from '../../../src/shared/check.js';
import { systemClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { httpGet, sendUdp } from '../../support/daemon-harness.js';
import { waitFor } from '../../support/wait-for.js';

// The worked example of docs/architecture.md ("Adding a backend"): a backend type in a
// few lines, run by a real daemon beside the built-in ones. In the product it would be
// src/backends/totals/ (this file's backend and factory) plus one line in
// src/backends/registry.ts; here the test adds it to the components it hands the daemon.

interface TotalsConfig {
  /** Only counters whose name starts with it are summed. */
  prefix: string;
}

/** Keeps a running total per counter across flushes and serves it on /totals/<instance>. */
class TotalsBackend implements Backend {
  readonly name: string;
  // Deltas must not be lost when the backend falls behind: merge waiting intervals.
  readonly busyPolicy = 'coalesce';
  readonly #cfg: TotalsConfig;
  readonly #deps: BackendDeps;
  readonly #totals = new Map<string, number>();
  #unroute: (() => void) | undefined;

  constructor(cfg: TotalsConfig, deps: BackendDeps) {
    this.name = deps.name;
    this.#cfg = cfg;
    this.#deps = deps;
  }

  async start(): Promise<void> {
    this.#unroute = this.#deps.routes?.register({
      owner: this.name,
      path: `/totals/${this.name}`,
      methods: ['GET'],
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(Object.fromEntries(this.#totals)));
      },
    });
  }

  async flush(snapshot: FlushSnapshot): Promise<void> {
    // Read what is needed while flushing; the snapshot is reused after this settles.
    for (const c of snapshot.counters)
      if (c.name.startsWith(this.#cfg.prefix)) this.#totals.set(c.name, (this.#totals.get(c.name) ?? 0) + c.value);
  }

  async sendEvent(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#unroute?.();
  }
}

const totalsBackendFactory: BackendFactory<TotalsConfig> = {
  type: 'totals',
  description: 'running counter totals as JSON on /totals/<instance>',
  keys: ['prefix'],
  defaultConfig: () => ({ prefix: '' }),
  validate(raw, path, issues) {
    const c = new Checker(issues);
    const s = raw === undefined ? {} : (c.section(raw, path) ?? {});
    c.unknownKeys(s, totalsBackendFactory.keys, path);
    return { prefix: c.string(s['prefix'], `${path}.prefix`, '') };
  },
  create: (config, _shared, deps) => new TotalsBackend(config, deps),
};

const components: Components = {
  ...COMPONENTS,
  backends: new Map([...COMPONENTS.backends, ['totals', totalsBackendFactory]]),
};

function config(prefixB: string) {
  const v = validateConfig(
    {
      'metrics-addr': '127.0.0.1:0',
      'web-addr': '127.0.0.1:0',
      backends: ['totals', 'totals.b', 'null'],
      totals: { prefix: 'a.', b: { prefix: prefixB } },
    },
    components,
  );
  expect(v.issues).to.deep.equal([]);
  return v.config!;
}

describe('adding a backend (the worked example of docs/architecture.md)', () => {
  it('a new type runs as two instances with its own sections and routes, and a reload of one keeps the other`s state', async () => {
    const daemon = new Daemon(config('b.'), { logger: silentLogger, clock: systemClock, version: 't', components });
    await daemon.start();
    try {
      const { udp, web } = daemon.addresses();
      const totals = async (instance: string): Promise<unknown> =>
        JSON.parse((await httpGet(web!.port, `/totals/${instance}`)).body) as unknown;
      await sendUdp(udp.port, ['a.x:5|c\nb.y:1|c']);
      await waitFor(() => daemon.stats.lines === 2);
      await daemon.flushNow();
      expect(await totals('totals')).to.deep.equal({ 'a.x': 5 });
      expect(await totals('totals.b')).to.deep.equal({ 'b.y': 1 });

      const plan = await daemon.applyConfig(config('a.'));
      expect(plan.startBackends).to.deep.equal(['totals.b']);
      await sendUdp(udp.port, ['a.x:2|c']);
      await waitFor(() => daemon.stats.lines === 3);
      await daemon.flushNow();
      expect(await totals('totals')).to.deep.equal({ 'a.x': 7 }); // kept: its running total goes on
      expect(await totals('totals.b')).to.deep.equal({ 'a.x': 2 }); // replaced: a new instance
    } finally {
      await daemon.shutdown();
    }
  });

  it('its section is validated like a built-in one, naming the instance', () => {
    const v = validateConfig({ backends: 'totals.b', totals: { b: { prefix: ['x'], colour: 'red' } } }, components);
    expect(v.issues.map((i) => i.path)).to.have.members(['totals.b.colour', 'totals.b.prefix']);
  });
});
