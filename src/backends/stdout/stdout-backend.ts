import { once } from 'node:events';
import { WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { ServiceCheck, StatsdEvent } from '../../parser/sample.js';
import { BackendError } from '../../shared/errors.js';
import type { Backend, BackendDeps, DisabledSubMetrics, Explanation } from '../backend.js';
import { explained, linesOf } from '../shared/explained.js';

import { goFixed } from '../shared/go-format.js';
import { gostatsdPercentileName } from '../shared/gostatsd-names.js';
import { CHUNK_SERIES, runChunked } from '../../shared/cooperative.js';
import { TextChunks, type TextChunk } from '../shared/text-chunks.js';
import { BufferPool } from '../shared/buffer-pool.js';

/** Tag sets whose name part one render remembers. */
const MAX_TAG_SETS = 4096;

/**
 * `name` plus `.k.v` for every tag `k:v` (the host tag `s:<ip>` included). The tag part
 * is worked out once per tag set: most series of a sidecar share a few.
 */
class NameComposer {
  readonly #suffixes = new Map<string, string>();

  compose(name: string, tagsKey: string): string {
    if (tagsKey === '') return name;
    let suffix = this.#suffixes.get(tagsKey);
    if (suffix === undefined) {
      suffix = '';
      for (const t of tagsKey.split(',')) if (t !== '') suffix += '.' + t.replaceAll(':', '.');
      if (this.#suffixes.size < MAX_TAG_SETS) this.#suffixes.set(tagsKey, suffix);
    }
    return name + suffix;
  }
}

/**
 * Renders a snapshot as gostatsd's stdout backend does:
 * `stats.counter.<name>.count <v> <ts>`, `stats.timers.<name>.<sub>`, `stats.gauge.<name>`,
 * `stats.set.<name>`; tags appear as `.k.v` name parts. Honours the base
 * `[disabled-sub-metrics]` flags. Yields the encoded lines of every {@link CHUNK_SERIES}
 * series, or sooner when a block is full, so a large snapshot is written piece by piece
 * between other work; blocks come from `pool` when given (release each chunk once written).
 */
export function* renderChunks(
  s: FlushSnapshot,
  disabled: DisabledSubMetrics,
  pool?: BufferPool,
): Generator<TextChunk, void> {
  const ts = ` ${Math.floor(s.timestampMs / 1000)}\n`;
  const out = new TextChunks(pool);
  // A render stopped early (the flush's deadline) gives its unwritten block back.
  try {
    const names = new NameComposer();
    let k = 0;
    const line = (text: string): void => out.line(text + ts);
    function* chunk(): Generator<TextChunk, void> {
      if (++k % CHUNK_SERIES !== 0 && !out.full) return;
      const c = out.take();
      if (c !== undefined) yield c;
    }
    for (const c of s.counters) {
      const n = names.compose(c.name, c.tagsKey);
      line(`stats.counter.${n}.count ${c.value}`);
      line(`stats.counter.${n}.per_second ${goFixed(c.perSecond)}`);
      yield* chunk();
    }
    for (const t of s.timers) {
      const n = `stats.timers.${names.compose(t.name, t.tagsKey)}`;
      if (!disabled.lower) line(`${n}.lower ${goFixed(t.min)}`);
      if (!disabled.upper) line(`${n}.upper ${goFixed(t.max)}`);
      if (!disabled.count) line(`${n}.count ${t.count}`);
      if (!disabled.countPerSecond) line(`${n}.count_ps ${goFixed(t.perSecond)}`);
      if (!disabled.mean) line(`${n}.mean ${goFixed(t.mean)}`);
      if (!disabled.median) line(`${n}.median ${goFixed(t.median)}`);
      if (!disabled.stddev) line(`${n}.std ${goFixed(t.stdDev)}`);
      if (!disabled.sum) line(`${n}.sum ${goFixed(t.sum)}`);
      if (!disabled.sumSquares) line(`${n}.sum_squares ${goFixed(t.sumSquares)}`);
      for (const p of t.percentiles) line(`${n}.${gostatsdPercentileName(p)} ${goFixed(p.value)}`);
      yield* chunk();
    }
    for (const g of s.gauges) {
      line(`stats.gauge.${names.compose(g.name, g.tagsKey)} ${goFixed(g.value)}`);
      yield* chunk();
    }
    for (const st of s.sets) {
      line(`stats.set.${names.compose(st.name, st.tagsKey)} ${st.size}`);
      yield* chunk();
    }
    const last = out.take();
    if (last !== undefined) yield last;
  } finally {
    out.dispose();
  }
}

/** The whole snapshot as one text (see {@link renderChunks}). */
export function renderSnapshot(s: FlushSnapshot, disabled: DisabledSubMetrics): string {
  return Buffer.concat([...renderChunks(s, disabled)].map((c) => c.bytes)).toString();
}

/** Lines a snapshot renders to, without rendering it. */
function lineCount(s: FlushSnapshot, d: DisabledSubMetrics): number {
  const perTimer = [
    d.lower,
    d.upper,
    d.count,
    d.countPerSecond,
    d.mean,
    d.median,
    d.stddev,
    d.sum,
    d.sumSquares,
  ].filter((off) => !off).length;
  let n = 2 * s.counters.length + s.gauges.length + s.sets.length + perTimer * s.timers.length;
  for (const t of s.timers) n += t.percentiles.length;
  return n;
}

/**
 * Whether `out` is done with a chunk's bytes when it calls back: a socket or pipe (fd 1
 * opened non-blocking), a terminal, a file stream, or the process's standard output.
 * Other streams may keep a chunk after calling back (a `PassThrough` queues it for its
 * reader), so their chunks' blocks are never reused.
 */
function writesBeforeCallback(out: NodeJS.WritableStream): boolean {
  return out === process.stdout || out instanceof Socket || out instanceof WriteStream;
}

/** Size of the blocks the output is encoded into, and how many are kept between flushes. */
const BLOCK_BYTES = 128 * 1024;
const BLOCKS_KEPT = 8;

/**
 * StdoutBackend writes every flush as text lines to standard output (or the stream in
 * its deps). It respects back-pressure: when the pipe is full it waits for `drain`
 * until the flush deadline, and counts the flush as dropped if that passes.
 */
export class StdoutBackend implements Backend {
  readonly name: string;
  readonly #deps: BackendDeps;
  readonly #out: NodeJS.WritableStream;
  readonly #disabled: DisabledSubMetrics;
  /**
   * The blocks rendered lines are written into, reused from flush to flush when the
   * output has written the bytes by the time it calls back (see {@link writesBeforeCallback}).
   */
  readonly #blocks: BufferPool | undefined;

  constructor(disabled: DisabledSubMetrics, deps: BackendDeps) {
    this.name = deps.name;
    this.#deps = deps;
    this.#out = deps.stdout ?? process.stdout;
    this.#blocks = writesBeforeCallback(this.#out) ? new BufferPool(BLOCK_BYTES, BLOCKS_KEPT) : undefined;
    this.#disabled = disabled;
  }

  async start(): Promise<void> {}

  /**
   * Writes the snapshot chunk by chunk, giving the event loop a turn between chunks and
   * waiting for `drain` when the pipe is full, until the flush deadline. Lines not written
   * by then are counted as dropped.
   */
  /** The lines it would write. */
  explain(snapshot: FlushSnapshot): Explanation {
    return explained(linesOf(renderSnapshot(snapshot, this.#disabled)));
  }

  async flush(snapshot: FlushSnapshot, signal: AbortSignal): Promise<void> {
    const total = lineCount(snapshot, this.#disabled);
    if (total === 0) return;
    this.#refuseWhileBlocked(total);
    const m = this.#deps.metrics;
    let written = 0;
    try {
      await runChunked(
        this.#writeChunks(snapshot, signal, (n) => (written += n)),
        signal,
      );
    } catch (err) {
      if (total > written) m.dropped('blocked_output', total - written);
      throw new BackendError(this.name, 'standard output is blocked (full pipe)', { cause: err });
    } finally {
      if (written > 0) m.sent(1, written);
    }
  }

  *#writeChunks(
    s: FlushSnapshot,
    signal: AbortSignal,
    onWritten: (lines: number) => void,
  ): Generator<Promise<void> | void, void> {
    const out = this.#out;
    const blocks = this.#blocks;
    for (const chunk of renderChunks(s, this.#disabled, blocks)) {
      // The stream calls back once it is done with the bytes (or failed): the block is free.
      const ok = out.write(chunk.bytes, () => chunk.release());
      onWritten(chunk.lines);
      // Every chunk yields (runChunked checks its time budget there); with the signal, an
      // abandoned wait for 'drain' leaves no listener behind. Blocks written but not yet
      // called back (a synchronous write reports on the next tick) are waited for too.
      if (!ok) yield once(out, 'drain', { signal }).then(() => undefined);
      else yield blocks?.exhausted === true ? blocks.whenReturned() : undefined;
    }
  }

  /** Prints an event as `event {json}` (fields in this order). */
  sendEvent(e: StatsdEvent, signal: AbortSignal): Promise<void> {
    const { title, text, dateHappened, hostname, aggregationKey, priority, sourceTypeName, alertType, tags } = e;
    const fields = { title, text, dateHappened, hostname, aggregationKey, priority, sourceTypeName, alertType, tags };
    return this.#write(`event ${JSON.stringify(fields)}\n`, signal, 1);
  }

  /** Prints a service check as `check {json}`, like events. */
  sendServiceCheck(c: ServiceCheck, signal: AbortSignal): Promise<void> {
    const { name, status, timestamp, hostname, message, tags } = c;
    return this.#write(`check ${JSON.stringify({ name, status, timestamp, hostname, message, tags })}\n`, signal, 1);
  }

  async shutdown(): Promise<void> {}

  /**
   * The reader has not taken the previous output yet: drop this output rather than queue
   * without bound (memory stays flat however long the pipe stays full).
   */
  #refuseWhileBlocked(items: number): void {
    const out = this.#out as NodeJS.WritableStream & { writableNeedDrain?: boolean };
    if (out.writableNeedDrain !== true) return;
    this.#deps.metrics.dropped('blocked_output', items);
    throw new BackendError(this.name, 'standard output is blocked (full pipe); output dropped');
  }

  async #write(text: string, signal: AbortSignal, items: number): Promise<void> {
    this.#refuseWhileBlocked(items);
    const ok = this.#out.write(text);
    this.#deps.metrics.sent(1, items);
    if (ok) return;
    try {
      await once(this.#out, 'drain', { signal });
    } catch (err) {
      // Written to the stream's buffer; it goes out when the reader catches up.
      throw new BackendError(this.name, 'standard output is blocked (full pipe)', { cause: err });
    }
  }
}
