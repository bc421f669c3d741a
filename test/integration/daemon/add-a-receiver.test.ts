import { expect } from 'chai';
import { validateConfig } from '../../../src/config/validate.js';
import { COMPONENTS, type Components } from '../../../src/daemon/components.js';
import { Daemon } from '../../../src/daemon/daemon.js';
import type { Receiver, ReceiverDeps, ReceiverFactory } from '../../../src/receivers/receiver.js';
import { normaliseSourceAddress } from '../../../src/receivers/receiver.js';
import { Checker } from '../../../src/shared/check.js';
import { systemClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { RecordingBackendFactory } from '../../support/recording-backend.js';

// The worked example of docs/architecture.md ("Adding a receiver"): StatsD lines POSTed to
// a path of the daemon's HTTP server. In the product it would be src/receivers/http-lines/
// plus one line in src/receivers/registry.ts (and its key in src/config/keys.ts for a flag);
// here the test adds it to the components it hands the daemon.

interface HttpLinesConfig {
  /** The path lines are POSTed to; off when empty. */
  path: string;
}

class HttpLinesReceiver implements Receiver {
  readonly #cfg: HttpLinesConfig;
  readonly #deps: ReceiverDeps;
  #unroute: (() => void) | undefined;

  constructor(cfg: HttpLinesConfig, deps: ReceiverDeps) {
    this.#cfg = cfg;
    this.#deps = deps;
  }

  async start(): Promise<void> {
    const { routes, sink } = this.#deps;
    if (routes === undefined) throw new Error('http-lines-path needs web-addr');
    this.#unroute = routes.register({
      owner: 'http-lines',
      path: this.#cfg.path,
      methods: ['POST'],
      acceptsBody: true,
      handler: async (req, res) => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        // A body is a batch of `\n`-separated lines, like a datagram.
        sink.ingestDatagram(Buffer.concat(chunks), normaliseSourceAddress(req.socket.remoteAddress ?? ''));
        res.writeHead(202);
        res.end();
      },
    });
  }

  address(): { host: string; port: number } {
    return { host: '', port: 0 }; // served on web-addr
  }

  async shutdown(): Promise<void> {
    this.#unroute?.();
  }
}

const httpLinesReceiverFactory: ReceiverFactory<HttpLinesConfig> = {
  type: 'http-lines',
  description: 'StatsD lines POSTed to http-lines-path on web-addr',
  keys: { path: 'http-lines-path' },
  validate(doc, issues) {
    const c = new Checker(issues);
    const path = c.string(doc['http-lines-path'], 'http-lines-path', '');
    if (path !== '' && !path.startsWith('/')) c.error('http-lines-path', 'must start with "/"');
    return path === '' ? undefined : { path };
  },
  create: (config, deps) => new HttpLinesReceiver(config, deps),
};

describe('adding a receiver (the worked example of docs/architecture.md)', () => {
  it('a new receiver type takes lines beside UDP, through the same pipeline', async () => {
    const recording = new RecordingBackendFactory();
    const components: Components = {
      ...COMPONENTS,
      backends: new Map([...COMPONENTS.backends, ['recording', recording.factory]]),
      receivers: new Map([...COMPONENTS.receivers, ['http-lines', httpLinesReceiverFactory]]),
    };
    const v = validateConfig(
      {
        'metrics-addr': '127.0.0.1:0',
        'web-addr': '127.0.0.1:0',
        'http-lines-path': '/lines',
        backends: 'recording',
        namespace: 'app',
      },
      components,
    );
    expect(v.issues).to.deep.equal([]);
    const daemon = new Daemon(v.config!, { logger: silentLogger, clock: systemClock, version: 't', components });
    await daemon.start();
    try {
      const { web } = daemon.addresses();
      const res = await fetch(`http://127.0.0.1:${web!.port}/lines`, { method: 'POST', body: 'a:2|c\na:3|c\nbad' });
      expect(res.status).to.equal(202);
      await daemon.flushNow();
      expect(recording.instances[0]!.seen[0]!.counters).to.deep.equal({ 'app.a': 5 });
      expect(daemon.stats.badLines.malformed_line).to.equal(1);
    } finally {
      await daemon.shutdown();
    }
  });

  it('its keys are validated like built-in ones', () => {
    const v = validateConfig(
      { 'http-lines-path': 'lines' },
      {
        ...COMPONENTS,
        receivers: new Map([['http-lines', httpLinesReceiverFactory]]),
      },
    );
    expect(v.issues.map((i) => i.path)).to.deep.equal(['http-lines-path']);
    expect(validateConfig({ 'http-lines-path': '/x' }, COMPONENTS).issues.map((i) => i.message)).to.deep.equal([
      'unknown key',
    ]);
  });
});
