import type { PartialCut } from '../aggregator/partial-cut.js';
import type { RejectedLine } from '../ingest/observe.js';
import type { PipelineConfig } from '../ingest/pipeline.js';
import type { ParseErrorReason, ServiceCheck, StatsdEvent } from '../parser/sample.js';
import type { UdpReceiverConfig } from '../receivers/udp/udp-receiver.js';
import type { Transport } from '../receivers/receiver.js';

/** What an ingest worker is started with (its `workerData`). */
export interface WorkerStart {
  /** Its number, 0 .. max-workers - 1 (in its log lines). */
  readonly index: number;
  /** The UDP socket it reads: the address and port claimed at start (port 0 resolved). */
  readonly udp: UdpReceiverConfig;
  readonly pipeline: PipelineConfig;
  /** Per-metric statistics: one in this many samples of a known series is reported; 0 = none are kept. */
  readonly sampleEvery: number;
  readonly logLevel: string;
}

/** Messages from the main thread to an ingest worker. */
export type ToWorker =
  /** Cut the interval and answer with a `partial` of the same `seq`. */
  | { readonly t: 'cut'; readonly seq: number }
  /** A configuration reload: the receive side's new settings. */
  | { readonly t: 'reconfigure'; readonly pipeline: PipelineConfig; readonly logLevel: string }
  /** A live tap was opened (`true`) or the last one closed. */
  | { readonly t: 'tap'; readonly open: boolean }
  /** Stop reading the socket (shutdown); answer `stopped`. The worker stays for the final cut. */
  | { readonly t: 'stop' };

/** One call of the ingester's per-metric statistics, relayed. */
export type MetricStatsCall =
  | readonly ['samples', string, number]
  | readonly ['newSeries', string, readonly string[]]
  | readonly ['capped', string];

/**
 * What changed in a worker since its last report: its ingest counters (absolute, in
 * `countersOf` order), per-metric statistics calls and rejected lines.
 */
export interface WorkerReport {
  readonly counters: number[];
  /** UDP datagrams received so far. */
  readonly datagrams: number;
  readonly metricStats: MetricStatsCall[];
  readonly rejects: RejectedLine[];
}

/** Messages from an ingest worker to the main thread. */
export type FromWorker =
  | { readonly t: 'listening'; readonly host: string; readonly port: number; readonly receiveBufferBytes?: number }
  | { readonly t: 'failed'; readonly message: string }
  | { readonly t: 'report'; readonly report: WorkerReport }
  | { readonly t: 'partial'; readonly seq: number; readonly partial: PartialCut; readonly report: WorkerReport }
  | { readonly t: 'stopped'; readonly report: WorkerReport }
  | { readonly t: 'event'; readonly event: StatsdEvent }
  | { readonly t: 'check'; readonly check: ServiceCheck }
  /** One pino line of the worker's logger. */
  | { readonly t: 'log'; readonly line: string }
  /** What a live tap shows (only while one is open): a datagram, or a rejected line with `reason` and `at`. */
  | {
      readonly t: 'tap';
      readonly bytes: Uint8Array;
      readonly source: string;
      readonly transport: Transport;
      readonly nowMs: number;
      readonly reason?: ParseErrorReason;
      readonly at?: number;
    };
