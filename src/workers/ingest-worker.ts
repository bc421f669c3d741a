/**
 * The entry point of one ingest worker thread (`max-workers` ≥ 2, or one with `flush-thread`): its own SO_REUSEPORT
 * UDP socket, the same receive pipeline as the main thread (parser, tags, filters, its own
 * aggregator), and a relay of everything the main thread shows or counts. At each flush
 * the main thread asks for a cut; the worker answers with a partial cut whose columns are
 * transferred, not copied (src/aggregator/partial-cut.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PartialCutWriter, transferList } from '../aggregator/partial-cut.js';
import { countersOf, IngestStats } from '../ingest/ingest-stats.js';
import type { MetricStatsSink } from '../ingest/metric-stats.js';
import { rejectedLine, type IngestTap, type RejectedLine, type RejectSink } from '../ingest/observe.js';
import { createPipeline, reconfigurePipeline } from '../ingest/pipeline.js';
import { UdpReceiver } from '../receivers/udp/udp-receiver.js';
import { systemClock } from '../shared/clock.js';
import { errorMessage } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import type { FromWorker, MetricStatsCall, ToWorker, WorkerReport, WorkerStart } from './protocol.js';

/** How often counters and relayed calls are reported when something changed. */
const REPORT_MS = 100;
/** Per-metric statistics calls kept between two reports (a burst of new series past it is not reported). */
const MAX_STATS_CALLS = 100_000;
/** Rejected lines kept between two reports (the status page shows the last 20). */
const MAX_REJECTS = 20;

const port = parentPort!;
const start = workerData as WorkerStart;
const post = (m: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer ?? []);

const logger = createLogger({
  format: 'json',
  level: start.logLevel as 'info',
  destination: { write: (line: string) => post({ t: 'log', line }) } as unknown as NodeJS.WritableStream,
}).child({ worker: start.index });

let statsCalls: MetricStatsCall[] = [];
let rejects: RejectedLine[] = [];
const metricStats: MetricStatsSink | undefined =
  start.sampleEvery > 0
    ? {
        sampleEvery: start.sampleEvery,
        samples: (name, weight) =>
          void (statsCalls.length < MAX_STATS_CALLS && statsCalls.push(['samples', name, weight])),
        newSeries: (name, tags) =>
          void (statsCalls.length < MAX_STATS_CALLS && statsCalls.push(['newSeries', name, tags])),
        capped: (name) => void (statsCalls.length < MAX_STATS_CALLS && statsCalls.push(['capped', name])),
      }
    : undefined;
const rejectSink: RejectSink = {
  add: (...rejection) => {
    rejects.push(rejectedLine(...rejection));
    if (rejects.length > MAX_REJECTS) rejects.shift();
  },
};

const stats = new IngestStats();
const pipeline = createPipeline(start.pipeline, {
  stats,
  clock: systemClock,
  logger,
  onEvent: (event) => post({ t: 'event', event }),
  onServiceCheck: (check) => post({ t: 'check', check }),
  rejects: rejectSink,
  ...(metricStats !== undefined ? { metricStats } : {}),
});

/** Shows the main thread's open taps what this worker receives. */
const tapRelay: IngestTap = {
  datagram: (bytes, from, end, source, transport, nowMs) =>
    post({ t: 'tap', bytes: bytes.slice(from, end), source, transport, nowMs }),
  line: () => undefined, // UDP has no lines of its own
  rejected: (bytes, from, end, reason, at, source, nowMs) =>
    post({ t: 'tap', bytes: bytes.slice(from, end), source, transport: 'udp', nowMs, reason, at: at - from }),
};

let reported: number[] = [];
/** What changed since the last report; undefined when nothing did. */
function report(force: boolean): WorkerReport | undefined {
  const counters = countersOf(stats);
  const same = counters.length === reported.length && counters.every((v, i) => v === reported[i]);
  if (!force && same && statsCalls.length === 0 && rejects.length === 0) return undefined;
  reported = counters;
  const r: WorkerReport = { counters, datagrams: stats.datagrams.udp, metricStats: statsCalls, rejects };
  statsCalls = [];
  rejects = [];
  return r;
}

let receiveBuffer: number | undefined;
const receiver = new UdpReceiver(
  start.udp,
  {
    sink: pipeline.ingester,
    stats,
    logger,
    clock: systemClock,
    onReceiveBuffer: (bytes) => (receiveBuffer = bytes),
  },
  { reusePort: true },
);
const writer = new PartialCutWriter();

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'cut': {
      const now = systemClock.now();
      const partial = writer.write(pipeline.aggregator.cut(now), now);
      post({ t: 'partial', seq: m.seq, partial, report: report(true)! }, transferList(partial));
      return;
    }
    case 'reconfigure':
      reconfigurePipeline(pipeline, m.pipeline);
      logger.level = m.logLevel;
      return;
    case 'tap':
      pipeline.ingester.attachTap(m.open ? tapRelay : undefined);
      return;
    case 'stop':
      void receiver
        .shutdown()
        .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'closing the udp socket failed'))
        .then(() => post({ t: 'stopped', report: report(true)! }));
      return;
  }
});

systemClock.every(REPORT_MS, () => {
  const r = report(false);
  if (r !== undefined) post({ t: 'report', report: r });
});

receiver.start().then(
  () => {
    const a = receiver.address();
    post({
      t: 'listening',
      host: a.host,
      port: a.port,
      ...(receiveBuffer !== undefined ? { receiveBufferBytes: receiveBuffer } : {}),
    });
  },
  (err: unknown) => post({ t: 'failed', message: errorMessage(err) }),
);
