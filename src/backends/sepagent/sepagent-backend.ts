import { seriesOf, type FlushSnapshot } from '../../aggregator/snapshot.js';
import { BackendError, errorMessage } from '../../shared/errors.js';
import { RateLimitedLog } from '../../shared/logger.js';
import type { Backend, BackendDeps, Explanation } from '../backend.js';
import type { SepAgentConfig } from './config.js';
import { encodeSnapshot, encodeSnapshotChunked, GroupScratch, type LeftOutReason, type SepDocument } from './encode.js';
import { BufferPool } from '../shared/buffer-pool.js';
import { UdpSender } from '../shared/udp-sender.js';
import { runChunked } from '../../shared/cooperative.js';
import { SepMatcher } from './sep-matcher.js';

const LOG_WINDOW_MS = 30_000;

/**
 * SepAgentBackend sends one JSON document per SEP instance per flush to SepAgent over
 * UDP, wire-compatible with the Go reference.
 *
 * Datagrams go through the shared {@link UdpSender}: one connected socket, resolved
 * lazily and again after a socket error, a refused send counted and retried once. A
 * failed flush counts what was lost and rejects; the next flush tries again.
 */
export class SepAgentBackend implements Backend {
  readonly name: string;
  readonly #cfg: SepAgentConfig;
  readonly #deps: BackendDeps;
  readonly #matcher: SepMatcher;
  readonly #log: RateLimitedLog;
  readonly #buffers: BufferPool;
  readonly #scratch = new GroupScratch();
  readonly #udp: UdpSender;

  constructor(cfg: SepAgentConfig, deps: BackendDeps) {
    this.name = deps.name;
    this.#cfg = cfg;
    this.#deps = deps;
    this.#matcher = new SepMatcher(cfg.sepRegexp, cfg.clusterRegexp);
    this.#log = new RateLimitedLog(LOG_WINDOW_MS, () => deps.clock.monotonicMs());
    this.#buffers = new BufferPool(cfg.maxDatagramBytes);
    this.#udp = new UdpSender({
      host: cfg.host,
      port: cfg.port,
      label: 'sepagent',
      metrics: deps.metrics,
      logger: deps.logger,
      clock: deps.clock,
    });
  }

  /** Starts connecting in the background; a slow or failing DNS lookup never delays start-up. */
  async start(): Promise<void> {
    // Not fatal: SepAgent may come up after us. Every flush retries.
    this.#udp.open().catch(() => undefined); // counted and logged by the sender
  }

  /**
   * Encodes the snapshot in time slices and sends each document as soon as it is
   * complete, so a flush of 100,000 series neither blocks receiving nor holds all its
   * datagrams in memory at once.
   *
   * It finishes even past its deadline (`_signal` is not honoured): the work is local
   * encoding and UDP sends, bounded by the series count, and a flush stopped half-way
   * would have sent nothing of what a very large snapshot holds (its series are grouped by
   * SEP before the first document). Meanwhile the flusher holds the next interval back.
   */
  async flush(snapshot: FlushSnapshot, _signal: AbortSignal): Promise<void> {
    const m = this.#deps.metrics;
    const series = seriesOf(snapshot);
    if (series === 0) return;
    this.#matcher.fitTo(series);
    let connected = true;
    let firstError: unknown;
    try {
      await this.#udp.open();
    } catch (err) {
      connected = false;
      firstError = err;
    }
    const lost = { send_failed: 0 };
    let sentDocs = 0;
    let sentItems = 0;
    // Sends are tracked with a counter and callbacks rather than a promise per document.
    let inFlight = 0;
    let allSent: (() => void) | undefined;
    const onDocument = (doc: SepDocument): void => {
      if (!connected) {
        lost.send_failed += doc.items;
        doc.release();
      } else {
        inFlight++;
        this.#udp.send(doc.payload, (err) => {
          if (err === undefined) {
            sentDocs++;
            sentItems += doc.items;
          } else {
            firstError ??= err;
            lost.send_failed += doc.items;
          }
          doc.release();
          if (--inFlight === 0) allSent?.();
        });
      }
    };
    const { dropped, leftOut, leftOutSeries, examples } = await runChunked(
      encodeSnapshotChunked(
        snapshot,
        this.#matcher,
        this.#cfg.maxDatagramBytes,
        onDocument,
        this.#buffers,
        this.#scratch,
        this.#deps.tap?.open === true
          ? (name, reason) => this.#deps.tap!.unmatched(this.name, name, reason)
          : undefined,
      ),
    );
    if (inFlight > 0) await new Promise<void>((resolve) => (allSent = resolve));
    m.sent(sentDocs, sentItems);
    m.leftOutAtFlush?.(leftOutSeries);
    for (const [reason, n] of Object.entries(leftOut)) {
      if (n === 0) continue;
      m.leftOut?.(reason, n);
      // Names outside the regexps are the usual case (most of Envoy's): counted, not logged.
      if (reason !== 'unmatched_name')
        this.#log.maybe(`left-out:${reason}`, (suppressed) =>
          this.#deps.logger.warn(
            { reason, series: n, example: examples[reason as keyof typeof examples], suppressed },
            'sepagent series left out',
          ),
        );
    }
    for (const [reason, n] of Object.entries({ ...dropped, ...lost })) {
      if (n === 0) continue;
      m.dropped(reason, n);
      if (reason in dropped) {
        this.#log.maybe(`drop:${reason}`, (suppressed) =>
          this.#deps.logger.warn(
            { reason, items: n, example: examples[reason as keyof typeof examples], suppressed },
            'sepagent items left out',
          ),
        );
      }
    }
    if (firstError !== undefined) {
      if (connected) this.#udp.failed(firstError);
      throw new BackendError(this.name, `send to ${this.#udp.target} failed: ${errorMessage(firstError)}`, {
        cause: firstError,
      });
    }
  }

  /** The documents it would send, or which regexp failed on which name. */
  explain(snapshot: FlushSnapshot): Explanation {
    const r = encodeSnapshot(snapshot, this.#matcher, this.#cfg.maxDatagramBytes);
    const emits = r.documents.map((d) => d.payload.toString('utf8'));
    const all = [...snapshot.counters, ...snapshot.timers, ...snapshot.gauges, ...snapshot.sets];
    const notes = all.flatMap((p) => {
      const c = this.#matcher.classify(p.name);
      return typeof c === 'string'
        ? []
        : [
            `${p.name}: SEP ${JSON.stringify(c.instanceId)}, cluster ${JSON.stringify(c.cluster)}, statistic ${JSON.stringify(c.statistics)}`,
          ];
    });
    // The encoder says why it left a series out, and names one (each reason's example).
    const why = (Object.keys(r.leftOut) as LeftOutReason[]).find((k) => r.leftOut[k] > 0);
    if (why !== undefined)
      return { emits, notes, leftOut: { reason: why, detail: this.#matcher.whyNot(r.examples[why]!) } };
    const drop = Object.entries(r.dropped).find(([, n]) => n > 0);
    if (drop !== undefined && emits.length === 0)
      return { emits, notes, leftOut: { reason: drop[0], detail: `${drop[1]} item(s) left out (${drop[0]})` } };
    return { emits, notes };
  }

  async sendEvent(): Promise<void> {
    // SepAgent has no notion of events; the reference drops them too.
  }

  async shutdown(): Promise<void> {
    this.#udp.close();
  }
}
