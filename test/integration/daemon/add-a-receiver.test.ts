import { expect } from 'chai';
import { flagOptions } from '../../../src/cli/flags.js';
import { topLevelKeys } from '../../../src/config/keys.js';
import { envOverrides } from '../../../src/config/load.js';
import { validateConfig } from '../../../src/config/validate.js';
import { COMPONENTS, type Components } from '../../../src/daemon/components.js';
import { Daemon } from '../../../src/daemon/daemon.js';
import type { Receiver, ReceiverDeps, ReceiverFactory } from '../../../src/receivers/receiver.js';
import { normaliseSourceAddress } from '../../../src/receivers/receiver.js';
import { systemClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { RecordingBackendFactory } from '../../support/recording-backend.js';

// The worked example of docs/architecture.md ("Adding a receiver"): StatsD lines POSTed to
// a path of the daemon's HTTP server. In the product it would be src/receivers/http-lines/
// plus one line in src/receivers/registry.ts: its key row gives it a flag, a GSD_ variable,
// a --help line and a docs row; here the test adds it to the components it hands the daemon.

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
  rows: [
    {
      key: 'http-lines-path',
      type: 'string',
      default: '',
      shown: '"" (off)',
      group: 'Listeners',
      reload: 'restart',
      describe: 'Path on web-addr that takes POSTed StatsD lines; empty disables it',
    },
  ],
  validate(read) {
    const path = read.string('http-lines-path');
    if (path !== '' && !path.startsWith('/')) read.c.error('http-lines-path', 'must start with "/"');
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

  it('its key row gives it a flag with its default, a GSD_ variable and a place in the key table', () => {
    const components = {
      ...COMPONENTS,
      receivers: new Map([...COMPONENTS.receivers, ['http-lines', httpLinesReceiverFactory]]),
    };
    expect(topLevelKeys(components).map((k) => k.key)).to.include('http-lines-path');
    expect(flagOptions(components)['http-lines-path']?.defaultDescription).to.equal('"" (off)');
    expect(envOverrides({ GSD_HTTP_LINES_PATH: '/lines' }, components)).to.deep.equal({ 'http-lines-path': '/lines' });
  });
});
