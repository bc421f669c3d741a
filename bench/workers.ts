// What ingest workers (max-workers >= 2) cost, part by part, in one process without
// sockets, and the model that predicts N workers from it (docs/performance.md).
//
//   npm run bench:workers [-- --series 100000 --lines-per-datagram 20 --rounds 3]
//
// Per part, medians of `rounds`:
// - ingest: µs per line through one worker's pipeline (parse, tags, aggregate);
// - write: the worker's cut and partial cut, µs per series with samples;
// - move: structuredClone with the columns transferred (postMessage's copy), µs per series;
// - merge: the main thread merging one partial cut, µs per series;
// - flush: the main thread's cut and statistics (no backend), µs per series.
// Then, for 1, 2, 4, 8 and 16 workers: the main thread's share of one core per 1 s
// interval, and the lines/s the workers can take when each has a core of its own.
import { parseArgs } from 'node:util';
import { PartialCutMerger, PartialCutWriter, transferList, type PartialCut } from '../src/aggregator/partial-cut.js';
import { IngestStats } from '../src/ingest/ingest-stats.js';
import { createPipeline } from '../src/ingest/pipeline.js';
import { systemClock } from '../src/shared/clock.js';
import { silentLogger } from '../src/shared/logger.js';
import { median } from './plot.js';

const { values: opt } = parseArgs({
  options: {
    series: { type: 'string', default: '100000' },
    'lines-per-datagram': { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
  },
});
const SERIES = Number(opt.series);
const LPD = Number(opt['lines-per-datagram']);
const ROUNDS = Number(opt.rounds);

const pipeline = () =>
  createPipeline({}, { stats: new IngestStats(), clock: systemClock, logger: silentLogger, onEvent: () => undefined });

/** Envoy-shaped lines as the load generator makes them: 60 % counters, 25 % gauges, 15 % timers. */
function datagrams(round: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < SERIES; i += LPD) {
    const lines: string[] = [];
    for (let j = i; j < Math.min(SERIES, i + LPD); j++) {
      const name = `envoy.cluster.external_cluster_sep${j % 2000}.stat_${j}`;
      const k = j % 20;
      lines.push(
        k < 12 ? `${name}:1|c` : k < 17 ? `${name}:${(j + round) % 97}|g` : `${name}:${(j * 7 + round) % 1000}|ms`,
      );
    }
    out.push(Buffer.from(lines.join('\n')));
  }
  return out;
}

interface Costs {
  ingest: number;
  write: number;
  move: number;
  merge: number;
  flush: number;
}

function measure(): Costs {
  const worker = pipeline();
  const main = pipeline();
  const writer = new PartialCutWriter();
  const merger = new PartialCutMerger();
  const samples: Costs[] = [];
  // Round 0 creates the series (and warms the code); rounds 1.. are measured.
  for (let round = 0; round <= ROUNDS; round++) {
    const dgs = datagrams(round);
    let t = performance.now();
    for (let pass = 0; pass < 5; pass++) for (const d of dgs) worker.ingester.ingestDatagram(d, '10.0.0.1');
    const ingest = ((performance.now() - t) * 1000) / (5 * SERIES);
    const now = Date.now();
    t = performance.now();
    const partial = writer.write(worker.aggregator.cut(now), now);
    const write = performance.now() - t;
    t = performance.now();
    const moved = structuredClone<PartialCut>(partial, { transfer: transferList(partial) });
    const move = performance.now() - t;
    t = performance.now();
    merger.merge(main.aggregator, moved, now);
    const merge = performance.now() - t;
    t = performance.now();
    main.aggregator.snapshotAndReset(now, 1);
    const flush = performance.now() - t;
    const us = (ms: number): number => (ms * 1000) / SERIES;
    if (round > 0) samples.push({ ingest, write: us(write), move: us(move), merge: us(merge), flush: us(flush) });
  }
  const m = (k: keyof Costs): number => median(samples.map((s) => s[k]));
  return { ingest: m('ingest'), write: m('write'), move: m('move'), merge: m('merge'), flush: m('flush') };
}

const c = measure();
const f = (n: number, d = 3): string => n.toFixed(d);
console.log(`${SERIES} series, ${LPD} lines per datagram, medians of ${ROUNDS} (node ${process.version})`);
console.log('| part | µs |');
console.log('| --- | ---: |');
console.log(`| ingest, per line (one worker) | ${f(c.ingest)} |`);
console.log(`| worker: cut + partial cut, per series with samples | ${f(c.write)} |`);
console.log(`| postMessage copy, columns transferred, per series | ${f(c.move)} |`);
console.log(`| main thread: merge, per series | ${f(c.merge)} |`);
console.log(`| main thread: cut + statistics, per series | ${f(c.flush)} |`);

// The model. Each worker has a core; its capacity is 1 / (ingest + (write + move) × series
// it sends per line). The main thread, per 1 s interval, merges what each worker sends and
// computes one snapshot (backends' encoding comes on top: bench:backends).
console.log('\nmodel, 1 s interval, senders spread over workers (each series sent by one worker):');
console.log(
  '| workers | lines/s the workers take (each on its own core) | main thread busy per interval, without backends |',
);
console.log('| ---: | ---: | ---: |');
for (const n of [1, 2, 4, 8, 16]) {
  // One worker is the main thread itself: it ingests and flushes. N workers each send
  // their share of the series once per interval; the main thread merges and flushes.
  const perWorker =
    n === 1 ? (1e6 - SERIES * c.flush) / c.ingest : (1e6 - (SERIES / n) * (c.write + c.move)) / c.ingest;
  const main = n === 1 ? SERIES * c.flush : SERIES * (c.merge + c.flush);
  console.log(`| ${n} | ${((n * perWorker) / 1e6).toFixed(2)}M | ${(main / 1000).toFixed(0)} ms |`);
}
