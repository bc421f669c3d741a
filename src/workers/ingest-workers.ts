import { Worker } from 'node:worker_threads';
import type { Aggregator } from '../aggregator/aggregator.js';
import { PartialCutMerger } from '../aggregator/partial-cut.js';
import { addCounters, IngestStats } from '../ingest/ingest-stats.js';
import type { MetricStats } from '../ingest/metric-stats.js';
import type { IngestTap, RecentRejects } from '../ingest/observe.js';
import type { PipelineConfig } from '../ingest/pipeline.js';
import type { ServiceCheck, StatsdEvent } from '../parser/sample.js';
import type { DatagramSink, Receiver } from '../receivers/receiver.js';
import { udpKernelDrops } from '../receivers/udp/kernel-drops.js';
import { UdpReceiver, type UdpReceiverConfig } from '../receivers/udp/udp-receiver.js';
import type { BoundAddress } from '../shared/listen.js';
import type { Clock } from '../shared/clock.js';
import { DaemonError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Level } from 'pino';
import type { FromWorker, ToWorker, WorkerReport, WorkerStart } from './protocol.js';

/** Settings of {@link IngestWorkers}. */
export interface IngestWorkersConfig {
  /** How many threads: `max-workers` when 2 or more, 1 with `flush-thread`. */
  count: number;
  /** The UDP receiver's settings (`metrics-addr`, `receive-buffer-size`, `udp-receiver`). */
  udp: UdpReceiverConfig;
  pipeline: PipelineConfig;
}

/** What {@link IngestWorkers} merges into and relays to: the main thread's receive side. */
export interface IngestWorkersDeps {
  /** The aggregator the flush cuts: every worker's partial cuts are merged into it. */
  aggregator: Aggregator;
  stats: IngestStats;
  metricStats: MetricStats;
  rejects: RecentRejects;
  /** The live tap: what the workers show it while one is open ({@link attachTap}). */
  tap: IngestTap;
  onEvent: (event: StatsdEvent) => void;
  onServiceCheck: (check: ServiceCheck) => void;
  logger: Logger;
  clock: Clock;
  onReceiveBuffer?: (bytes: number) => void;
}

/** One worker thread and what the main thread knows of it. */
interface Thread {
  worker: Worker;
  readonly merger: PartialCutMerger;
  /** Its counters as last reported (what was already added to the daemon's). */
  counters: number[];
  /** UDP datagrams it received (from its counters). */
  datagrams: number;
  /** Waiters for its next `partial` and `stopped` answers. */
  onPartial: (() => void) | undefined;
  onStopped: (() => void) | undefined;
  /** Set by `close`: its exit is expected. */
  closing: boolean;
  exited: boolean;
}

/** The probe socket's sink: it is closed before anything can arrive. */
const NO_SINK: DatagramSink = {
  ingestDatagram: () => undefined,
  ingestDatagramAt: () => undefined,
  ingestLine: () => undefined,
  ingestForwarded: () => 0,
  ingestEvent: () => undefined,
};

/** The worker's module, beside this one: `.ts` when running from the sources, `.js` when built. */
const WORKER_URL = new URL(`./ingest-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * IngestWorkers is the `udp` receiver when `max-workers` is 2 or more, or with `flush-thread`
 * (one thread, so that flushes on the main thread never hold up reading): N worker threads,
 * each reading its own SO_REUSEPORT socket on `metrics-addr` (the kernel spreads senders
 * over them by address and port) into its own pipeline and aggregator. At start the
 * address is claimed once without SO_REUSEPORT, so a port in use is refused as with one
 * thread; a process of the same user that binds the port with SO_REUSEPORT later would
 * share the traffic (the kernel allows it). The main thread
 * keeps one aggregator: before each cut, {@link gather} asks every worker for its interval
 * and merges the partial cuts into it, so backends still get ONE consolidated flush.
 *
 * Counters, per-metric statistics and rejected lines come every 100 ms and with each
 * partial cut; events, service checks, log lines and what an open tap shows come at once.
 * A worker that dies is logged and started again on the same port.
 */
export class IngestWorkers implements Receiver {
  readonly #cfg: IngestWorkersConfig;
  readonly #deps: IngestWorkersDeps;
  readonly #threads: Thread[] = [];
  #bound: BoundAddress = { host: '', port: 0 };
  #seq = 0;
  #tapOpen = false;
  #restarts = 0;
  #logLevel: string;
  #closed = false;

  constructor(cfg: IngestWorkersConfig, deps: IngestWorkersDeps) {
    if (cfg.count < 1) throw new DaemonError('ERR_INTERNAL', 'ingest workers need at least one thread');
    this.#cfg = cfg;
    this.#deps = deps;
    this.#logLevel = deps.logger.level;
  }

  /**
   * Claims the configured address once without SO_REUSEPORT (so a port another process
   * holds is refused here, as with one thread, and port 0 is resolved), then starts every
   * worker on that address and port.
   */
  async start(): Promise<void> {
    if (this.#threads.length > 0) return;
    this.#bound = await this.#claim();
    const all: Array<Promise<BoundAddress>> = [];
    for (let i = 0; i < this.#cfg.count; i++) all.push(this.#spawn(i, this.#followerUdp()));
    try {
      await Promise.all(all);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Binds and closes an ordinary socket on the configured address: the address and port the workers share. */
  async #claim(): Promise<BoundAddress> {
    const probe = new UdpReceiver(
      { ...this.#cfg.udp, mode: 'dgram' },
      {
        sink: NO_SINK,
        stats: new IngestStats(),
        logger: this.#deps.logger.child({}, { level: 'warn' }),
        clock: this.#deps.clock,
      },
    );
    await probe.start();
    const bound = probe.address();
    await probe.shutdown();
    return bound;
  }

  /** A worker's socket: the address and port claimed at start (see {@link start}). */
  #followerUdp(): UdpReceiverConfig {
    const { host, port } = this.#bound;
    return { ...this.#cfg.udp, address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
  }

  #spawn(index: number, udp: UdpReceiverConfig): Promise<BoundAddress> {
    const start: WorkerStart = {
      index,
      udp,
      pipeline: this.#cfg.pipeline,
      sampleEvery: this.#deps.metricStats.sampleEvery,
      logLevel: this.#logLevel,
    };
    const worker = new Worker(WORKER_URL, { workerData: start });
    const thread: Thread = {
      worker,
      merger: new PartialCutMerger(),
      counters: [],
      datagrams: 0,
      onPartial: undefined,
      onStopped: undefined,
      closing: false,
      exited: false,
    };
    this.#threads[index] = thread;
    return new Promise<BoundAddress>((resolve, reject) => {
      let listening = false;
      worker.on('message', (m: FromWorker) => {
        if (m.t === 'listening') {
          listening = true;
          // A worker started again while a tap is open shows it too.
          if (this.#tapOpen) this.#post(thread, { t: 'tap', open: true });
          if (index === 0 && m.receiveBufferBytes !== undefined) this.#deps.onReceiveBuffer?.(m.receiveBufferBytes);
          resolve({ host: m.host, port: m.port });
        } else if (m.t === 'failed') reject(new DaemonError('ERR_LISTEN', m.message));
        else this.#receive(thread, m);
      });
      worker.on('error', (err: Error) => {
        this.#deps.logger.error({ worker: index, err: err.message }, 'ingest worker failed');
        if (!listening) reject(new DaemonError('ERR_LISTEN', `ingest worker ${index}: ${err.message}`));
      });
      worker.on('exit', (code) => {
        thread.exited = true;
        thread.onPartial?.();
        thread.onStopped?.();
        if (thread.closing || this.#closed || !listening) return;
        this.#deps.logger.error(
          { worker: index, code },
          'ingest worker exited (what it received since the last flush is lost); starting it again',
        );
        this.#spawn(index, this.#followerUdp()).then(
          () => this.#restarts++,
          (err: unknown) =>
            this.#deps.logger.error({ worker: index, err: String(err) }, 'ingest worker could not be started again'),
        );
      });
    });
  }

  #receive(thread: Thread, m: FromWorker): void {
    const d = this.#deps;
    switch (m.t) {
      case 'listening':
      case 'failed':
        return; // answered to start (see #spawn)
      case 'report':
        this.#apply(thread, m.report);
        return;
      case 'partial': {
        this.#apply(thread, m.report);
        thread.merger.merge(d.aggregator, m.partial, d.clock.now());
        const done = thread.onPartial;
        thread.onPartial = undefined;
        done?.();
        return;
      }
      case 'stopped': {
        this.#apply(thread, m.report);
        const done = thread.onStopped;
        thread.onStopped = undefined;
        done?.();
        return;
      }
      case 'event':
        d.onEvent(m.event);
        return;
      case 'check':
        d.onServiceCheck(m.check);
        return;
      case 'log':
        this.#log(m.line);
        return;
      case 'tap': {
        const tap = d.tap;
        if (m.reason === undefined) tap.datagram(m.bytes, 0, m.bytes.length, m.source, m.transport, m.nowMs);
        else tap.rejected(m.bytes, 0, m.bytes.length, m.reason, m.at ?? 0, m.source, m.nowMs);
        return;
      }
    }
  }

  /** Adds what a worker reported to the daemon's counters, statistics and rejected lines. */
  #apply(thread: Thread, r: WorkerReport): void {
    const d = this.#deps;
    addCounters(d.stats, r.counters, thread.counters);
    thread.counters = r.counters;
    thread.datagrams = r.datagrams;
    const now = d.clock.now();
    for (const c of r.metricStats) {
      if (c[0] === 'samples') d.metricStats.samples(c[1], c[2], now);
      else if (c[0] === 'newSeries') d.metricStats.newSeries(c[1], c[2], now);
      else d.metricStats.capped(c[1], now);
    }
    for (const line of r.rejects) d.rejects.keep(line);
  }

  /** A worker's log line, through the daemon's logger (its format and level). */
  #log(line: string): void {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const { level, msg, ...fields } = rec;
    delete fields['time'];
    const logger = this.#deps.logger;
    const label = (logger.levels.labels[level as number] ?? 'info') as Level;
    logger[label](fields, typeof msg === 'string' ? msg : '');
  }

  #post(thread: Thread, m: ToWorker): void {
    thread.worker.postMessage(m);
  }

  /**
   * Merges every worker's interval into the aggregator: resolves once each has answered
   * (or exited), or when `signal` aborts; a partial cut that comes later is merged when it
   * comes and goes out with the next flush.
   */
  async gather(signal?: AbortSignal): Promise<void> {
    const seq = ++this.#seq;
    const answers = this.#threads
      .filter((thread) => !thread.exited)
      .map(
        (thread) =>
          new Promise<void>((resolve) => {
            const previous = thread.onPartial;
            thread.onPartial = () => {
              previous?.();
              resolve();
            };
            this.#post(thread, { t: 'cut', seq });
          }),
      );
    const all = Promise.all(answers).then(() => undefined);
    if (signal === undefined) return all;
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      void all.then(resolve);
    });
  }

  /** A reload: the receive side's new settings (and the log level) for every worker. */
  reconfigure(pipeline: PipelineConfig): void {
    this.#cfg.pipeline = pipeline;
    this.#logLevel = this.#deps.logger.level;
    for (const t of this.#threads) this.#post(t, { t: 'reconfigure', pipeline, logLevel: this.#logLevel });
  }

  /** Whether the workers show the open taps what they receive. */
  attachTap(open: boolean): void {
    if (open === this.#tapOpen) return;
    this.#tapOpen = open;
    for (const t of this.#threads) this.#post(t, { t: 'tap', open });
  }

  address(): BoundAddress {
    return this.#bound;
  }

  /** Workers that exited on their own and were started again (and listen again). */
  get restarts(): number {
    return this.#restarts;
  }

  /** The worker threads, by index (diagnostics, tests); a restarted worker is a new thread. */
  threads(): readonly Worker[] {
    return this.#threads.map((t) => t.worker);
  }

  /** UDP datagrams each worker received, as last reported (a restarted worker counts from 0 again). */
  datagrams(): number[] {
    return this.#threads.map((t) => t.datagrams);
  }

  /** Kernel drops over every worker's socket (they share the port). */
  kernelDrops(): number | undefined {
    return this.#threads.length === 0 ? undefined : udpKernelDrops(this.#bound.port);
  }

  /**
   * Stops intake: every worker closes its socket (what it received stays for the final
   * cut). The threads end with {@link close}, after the final flush.
   */
  async shutdown(): Promise<void> {
    await Promise.all(
      this.#threads
        .filter((thread) => !thread.exited)
        .map(
          (thread) =>
            new Promise<void>((resolve) => {
              thread.onStopped = resolve;
              this.#post(thread, { t: 'stop' });
            }),
        ),
    );
  }

  /** Ends the threads. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#threads.map((t) => {
        t.closing = true;
        return t.worker.terminate();
      }),
    );
  }
}
