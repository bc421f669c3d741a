import { once } from 'node:events';
import type { FlushSnapshot } from '../../aggregator/snapshot.js';
import type { ServiceCheck, StatsdEvent } from '../../parser/sample.js';
import { BackendError } from '../../shared/errors.js';
import type { Backend, BackendDeps, DisabledSubMetrics } from '../backend.js';
import { goFixed } from '../shared/go-format.js';
import { gostatsdPercentileName } from '../shared/gostatsd-names.js';

/** `name` plus `.k.v` for every tag `k:v` (the host tag `s:<ip>` included). */
function composeName(name: string, tagsKey: string): string {
  if (tagsKey === '') return name;
  let out = name;
  for (const t of tagsKey.split(',')) if (t !== '') out += '.' + t.replaceAll(':', '.');
  return out;
}

/**
 * Renders a snapshot as gostatsd's stdout backend does:
 * `stats.counter.<name>.count <v> <ts>`, `stats.timers.<name>.<sub>`, `stats.gauge.<name>`,
 * `stats.set.<name>`; tags appear as `.k.v` name parts. Honours the base
 * `[disabled-sub-metrics]` flags.
 */
export function renderSnapshot(s: FlushSnapshot, disabled: DisabledSubMetrics): string {
  const ts = Math.floor(s.timestampMs / 1000);
  const out: string[] = [];
  for (const c of s.counters) {
    const n = composeName(c.name, c.tagsKey);
    out.push(
      `stats.counter.${n}.count ${c.value} ${ts}`,
      `stats.counter.${n}.per_second ${goFixed(c.perSecond)} ${ts}`,
    );
  }
  for (const t of s.timers) {
    const n = `stats.timers.${composeName(t.name, t.tagsKey)}`;
    if (!disabled.lower) out.push(`${n}.lower ${goFixed(t.min)} ${ts}`);
    if (!disabled.upper) out.push(`${n}.upper ${goFixed(t.max)} ${ts}`);
    if (!disabled.count) out.push(`${n}.count ${t.count} ${ts}`);
    if (!disabled.countPerSecond) out.push(`${n}.count_ps ${goFixed(t.perSecond)} ${ts}`);
    if (!disabled.mean) out.push(`${n}.mean ${goFixed(t.mean)} ${ts}`);
    if (!disabled.median) out.push(`${n}.median ${goFixed(t.median)} ${ts}`);
    if (!disabled.stddev) out.push(`${n}.std ${goFixed(t.stdDev)} ${ts}`);
    if (!disabled.sum) out.push(`${n}.sum ${goFixed(t.sum)} ${ts}`);
    if (!disabled.sumSquares) out.push(`${n}.sum_squares ${goFixed(t.sumSquares)} ${ts}`);
    for (const p of t.percentiles) out.push(`${n}.${gostatsdPercentileName(p)} ${goFixed(p.value)} ${ts}`);
  }
  for (const g of s.gauges) out.push(`stats.gauge.${composeName(g.name, g.tagsKey)} ${goFixed(g.value)} ${ts}`);
  for (const st of s.sets) out.push(`stats.set.${composeName(st.name, st.tagsKey)} ${st.size} ${ts}`);
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

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

  constructor(disabled: DisabledSubMetrics, deps: BackendDeps) {
    this.name = deps.name;
    this.#deps = deps;
    this.#out = deps.stdout ?? process.stdout;
    this.#disabled = disabled;
  }

  async start(): Promise<void> {}

  async flush(snapshot: FlushSnapshot, signal: AbortSignal): Promise<void> {
    const text = renderSnapshot(snapshot, this.#disabled);
    if (text === '') return;
    await this.#write(text, signal, countLines(text));
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

  async #write(text: string, signal: AbortSignal, items: number): Promise<void> {
    const m = this.#deps.metrics;
    const out = this.#out as NodeJS.WritableStream & { writableNeedDrain?: boolean };
    if (out.writableNeedDrain === true) {
      // The reader has not taken the previous output yet: drop this one rather than queue
      // without bound (memory stays flat however long the pipe stays full).
      m.dropped('blocked_output', items);
      throw new BackendError(this.name, 'standard output is blocked (full pipe); output dropped');
    }
    const ok = out.write(text);
    m.sent(1, items);
    if (ok) return;
    try {
      await once(out, 'drain', { signal });
    } catch (err) {
      // Written to the stream's buffer; it goes out when the reader catches up.
      throw new BackendError(this.name, 'standard output is blocked (full pipe)', { cause: err });
    }
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
