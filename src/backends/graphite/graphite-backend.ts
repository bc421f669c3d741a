import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import { runChunked } from '../../shared/cooperative.js';
import { BackendError } from '../../shared/errors.js';
import { RateLimitedLog } from '../../shared/logger.js';
import type { Backend, BackendDeps, DisabledSubMetrics, Explanation } from '../backend.js';
import { explained, linesOf } from '../shared/explained.js';
import { runToEnd } from '../../shared/cooperative.js';

import { SendError, StreamSender } from '../shared/stream-sender.js';
import type { GraphiteConfig } from './config.js';
import { renderGraphite } from './format.js';

/**
 * GraphiteBackend writes each flush to carbon's plaintext receiver over one kept TCP
 * connection: `path value timestamp` lines as gostatsd's graphite backend writes them.
 * A flush that cannot be written within `write_timeout` (or its deadline) is counted as
 * dropped and the connection re-made at the next flush; carbon restarting is noticed
 * (its close) and re-connected to. Events are ignored, as in gostatsd.
 */
export class GraphiteBackend implements Backend {
  readonly name: string;
  readonly #config: GraphiteConfig;
  readonly #deps: BackendDeps;
  readonly #disabled: DisabledSubMetrics;
  readonly #sender: StreamSender;
  readonly #failures: RateLimitedLog;

  constructor(config: GraphiteConfig, disabled: DisabledSubMetrics, deps: BackendDeps) {
    this.name = deps.name;
    this.#config = config;
    this.#deps = deps;
    this.#disabled = disabled;
    this.#failures = new RateLimitedLog(60_000, () => deps.clock.now());
    this.#sender = new StreamSender({
      host: config.host,
      port: config.port,
      dialTimeoutMs: config.dialTimeoutMs,
      writeTimeoutMs: config.writeTimeoutMs,
      clock: deps.clock,
    });
  }

  async start(): Promise<void> {}

  /** The plaintext lines (paths, values, timestamps) it would send. */
  explain(snapshot: FlushSnapshot): Explanation {
    return explained(linesOf(runToEnd(renderGraphite(snapshot, this.#config, this.#disabled)).text));
  }

  async flush(snapshot: FlushSnapshot, signal: AbortSignal): Promise<void> {
    const { text, lines } = await runChunked(renderGraphite(snapshot, this.#config, this.#disabled), signal);
    if (lines === 0) return;
    try {
      await this.#sender.send(text, signal);
      this.#deps.metrics.sent(1, lines);
    } catch (err) {
      const code = err instanceof SendError ? err.errno : 'EIO';
      this.#deps.metrics.sendError(code);
      this.#deps.metrics.dropped('send_failed', lines);
      this.#failures.maybe(code, (suppressed) =>
        this.#deps.logger.warn(
          { address: `${this.#config.host}:${this.#config.port}`, code, err: (err as Error).message, suppressed },
          'graphite write failed; the flush is dropped and the connection re-made next time',
        ),
      );
      throw new BackendError(this.name, `graphite: ${(err as Error).message}`, { cause: err });
    }
  }

  async sendEvent(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#sender.close();
  }
}
