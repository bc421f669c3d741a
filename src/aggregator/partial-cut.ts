import type { MetricKind } from '../parser/sample.js';
import type { TimerHistogramWire } from '../shared/timer-histogram-wire.js';
import type { Accumulator } from './accumulators.js';
import type { Aggregator, SeriesRef } from './aggregator.js';
import { FoldedTimer } from './folded-timer.js';
import type { IntervalCut } from './interval-cut.js';
import type { SeriesIdentity } from './snapshot.js';

const KINDS: readonly MetricKind[] = ['counter', 'gauge', 'timer', 'set'];
const KIND_CODE: Record<MetricKind, number> = { counter: 0, gauge: 1, timer: 2, set: 3 };

/**
 * One ingest worker's interval as columns, for the thread that merges every worker's
 * interval into the one aggregator the flush cuts. Only series that had samples in the
 * interval are in it; each series is an integer id, and its name, tags and host are sent
 * once, in the first partial cut that has it (`added`). Every numeric column is a typed
 * array whose buffer is transferred, not copied, to the merging thread.
 */
export interface PartialCut {
  /** Series sent for the first time: their ids, kinds (0 counter, 1 gauge, 2 timer, 3 set) and identities. */
  readonly addedIds: Int32Array;
  readonly addedKinds: Uint8Array;
  readonly addedNames: string[];
  readonly addedHosts: string[];
  readonly addedTags: string[][];
  readonly addedTagsKeys: string[];
  /** Ids of series the worker expired: a later partial cut may give the id to another series. */
  readonly retired: Int32Array;
  readonly counterIds: Int32Array;
  /** The interval's sum per counter. */
  readonly counterValues: Float64Array;
  readonly gaugeIds: Int32Array;
  /** Per gauge: its value when `gaugeIsDelta` is 0, else the sum of the deltas it received. */
  readonly gaugeValues: Float64Array;
  readonly gaugeIsDelta: Uint8Array;
  readonly timerIds: Int32Array;
  /** Timer `i`'s values are `timerValues[timerStart[i] .. timerStart[i + 1])`. */
  readonly timerStart: Int32Array;
  readonly timerValues: Float64Array;
  /** Sum of 1/rate per timer. */
  readonly timerSampled: Float64Array;
  /** Per timer: its histogram when it passed `timer-exact-values` (its values are then empty), else null. */
  readonly timerFolded: Array<TimerHistogramWire | null>;
  readonly setIds: Int32Array;
  readonly setMembers: string[][];
  /** Raw names (FlushSnapshot.rawNames) first noted since the last partial cut. */
  readonly rawNames: Array<[string, string]>;
}

/** The buffers of a partial cut's typed arrays, for `postMessage`'s transfer list. */
export function transferList(p: PartialCut): ArrayBuffer[] {
  return [
    p.addedIds,
    p.addedKinds,
    p.retired,
    p.counterIds,
    p.counterValues,
    p.gaugeIds,
    p.gaugeValues,
    p.gaugeIsDelta,
    p.timerIds,
    p.timerStart,
    p.timerValues,
    p.timerSampled,
    p.setIds,
  ].map((a) => a.buffer as ArrayBuffer);
}

/**
 * PartialCutWriter turns an ingest worker's interval cuts into {@link PartialCut}s: it
 * numbers the worker's series (ids of expired series are reused) and keeps which raw
 * names were sent. One writer per worker aggregator.
 */
export class PartialCutWriter {
  readonly #ids = new Map<Accumulator, number>();
  readonly #free: number[] = [];
  #next = 0;
  /** When the previous cut was taken: a series last seen before it had no samples since. */
  #since = -Infinity;
  #rawNamesSent = 0;

  /** Series the writer has numbered (tests, diagnostics). */
  get knownSeries(): number {
    return this.#ids.size;
  }

  /**
   * The partial cut of `cut` (just taken at `nowMs` from the worker's aggregator, which
   * reset and expired its series): the series with samples since the previous one.
   */
  write(cut: IntervalCut, nowMs: number): PartialCut {
    const since = this.#since;
    this.#since = nowMs;
    const added: Accumulator[] = [];
    const addedIds: number[] = [];
    const retired: number[] = [];
    /** The id of a series with samples in this interval, numbering it if new. */
    const idOf = (acc: Accumulator): number => {
      let id = this.#ids.get(acc);
      if (id === undefined) {
        id = this.#free.pop() ?? this.#next++;
        this.#ids.set(acc, id);
        added.push(acc);
        addedIds.push(id);
      }
      return id;
    };
    /** Indices into the cut's list of a kind of the series with samples; retires the expired ones. */
    const touched = (series: readonly Accumulator[]): number[] => {
      const out: number[] = [];
      for (let i = 0; i < series.length; i++) {
        const acc = series[i]!;
        if (acc.dead) {
          const id = this.#ids.get(acc);
          if (id !== undefined) {
            this.#ids.delete(acc);
            this.#free.push(id);
            retired.push(id);
          }
        } else if (acc.lastSeenMs >= since) out.push(i);
      }
      return out;
    };

    const c = touched(cut.counters);
    const counterIds = new Int32Array(c.length);
    const counterValues = new Float64Array(c.length);
    for (let k = 0; k < c.length; k++) {
      counterIds[k] = idOf(cut.counters[c[k]!]!);
      counterValues[k] = cut.counterValues[c[k]!]!;
    }

    const g = touched(cut.gauges);
    const gaugeIds = new Int32Array(g.length);
    const gaugeValues = new Float64Array(g.length);
    const gaugeIsDelta = new Uint8Array(g.length);
    for (let k = 0; k < g.length; k++) {
      const acc = cut.gauges[g[k]!]!;
      gaugeIds[k] = idOf(acc);
      gaugeValues[k] = acc.valueSet ? acc.current : acc.delta;
      gaugeIsDelta[k] = acc.valueSet ? 0 : 1;
      acc.valueSet = false;
      acc.delta = 0;
    }

    const t = touched(cut.timers);
    const timerIds = new Int32Array(t.length);
    const timerStart = new Int32Array(t.length + 1);
    const timerSampled = new Float64Array(t.length);
    const timerFolded: Array<TimerHistogramWire | null> = new Array<TimerHistogramWire | null>(t.length);
    let total = 0;
    for (const i of t) if (cut.timerFolded[i] === undefined) total += cut.timerStart[i + 1]! - cut.timerStart[i]!;
    const timerValues = new Float64Array(total);
    let off = 0;
    for (let k = 0; k < t.length; k++) {
      const i = t[k]!;
      timerIds[k] = idOf(cut.timers[i]!);
      timerStart[k] = off;
      timerSampled[k] = cut.timerSampled[i]!;
      const folded = cut.timerFolded[i];
      timerFolded[k] = folded === undefined ? null : folded.toWire();
      if (folded !== undefined) continue;
      const from = cut.timerStart[i]!;
      const to = cut.timerStart[i + 1]!;
      timerValues.set(cut.timerData.subarray(from, to), off);
      off += to - from;
    }
    timerStart[t.length] = off;

    const s = touched(cut.sets);
    const setIds = new Int32Array(s.length);
    const setMembers: string[][] = new Array<string[]>(s.length);
    for (let k = 0; k < s.length; k++) {
      setIds[k] = idOf(cut.sets[s[k]!]!);
      setMembers[k] = [...cut.setMembers[s[k]!]!];
    }

    const rawNames: Array<[string, string]> = [];
    if (cut.rawNames.size > this.#rawNamesSent) {
      let i = 0;
      for (const entry of cut.rawNames) if (i++ >= this.#rawNamesSent) rawNames.push(entry);
      this.#rawNamesSent = cut.rawNames.size;
    }

    return {
      addedIds: Int32Array.from(addedIds),
      addedKinds: Uint8Array.from(added, (a) => KIND_CODE[a.kind]),
      addedNames: added.map((a) => a.name),
      addedHosts: added.map((a) => a.host),
      addedTags: added.map((a) => [...a.tags]),
      addedTagsKeys: added.map((a) => a.tagsKey),
      retired: Int32Array.from(retired),
      counterIds,
      counterValues,
      gaugeIds,
      gaugeValues,
      gaugeIsDelta,
      timerIds,
      timerStart,
      timerValues,
      timerSampled,
      timerFolded,
      setIds,
      setMembers,
      rawNames,
    };
  }
}

type Identity = SeriesIdentity & { readonly kind: MetricKind };

/**
 * PartialCutMerger merges one worker's partial cuts into an aggregator: each series is
 * found once, by its identity, when it is added; afterwards by its id (an array index).
 * A series the aggregator expired meanwhile is found again. One merger per worker.
 */
export class PartialCutMerger {
  readonly #idents: Array<Identity | undefined> = [];
  readonly #refs: Array<SeriesRef | undefined> = [];

  /** Merges `p` into `agg` at `nowMs`; returns the number of series merged. */
  merge(agg: Aggregator, p: PartialCut, nowMs: number): number {
    for (const id of p.retired) {
      this.#idents[id] = undefined;
      this.#refs[id] = undefined;
    }
    for (let k = 0; k < p.addedIds.length; k++) {
      const id = p.addedIds[k]!;
      this.#idents[id] = {
        kind: KINDS[p.addedKinds[k]!]!,
        name: p.addedNames[k]!,
        host: p.addedHosts[k]!,
        tags: p.addedTags[k]!,
        tagsKey: p.addedTagsKeys[k]!,
      };
      this.#refs[id] = undefined;
    }
    for (const [name, raw] of p.rawNames) agg.noteRawName(name, raw);
    let merged = 0;
    for (let k = 0; k < p.counterIds.length; k++) {
      const ref = this.#ref(agg, p.counterIds[k]!, nowMs);
      if (ref === undefined) continue;
      agg.applyTo(ref, p.counterValues[k]!, '', 1, nowMs);
      merged++;
    }
    for (let k = 0; k < p.gaugeIds.length; k++) {
      const ref = this.#ref(agg, p.gaugeIds[k]!, nowMs);
      if (ref === undefined) continue;
      if (p.gaugeIsDelta[k] === 1) agg.adjustGauge(ref, p.gaugeValues[k]!, nowMs);
      else agg.applyTo(ref, p.gaugeValues[k]!, '', 1, nowMs);
      merged++;
    }
    for (let k = 0; k < p.timerIds.length; k++) {
      const ref = this.#ref(agg, p.timerIds[k]!, nowMs);
      if (ref === undefined) continue;
      const wire = p.timerFolded[k];
      const folded = wire == null ? undefined : FoldedTimer.fromWire(wire);
      if (folded !== undefined) agg.mergeTimerHistogram(ref, folded, p.timerSampled[k]!, nowMs);
      else agg.mergeTimer(ref, p.timerValues.subarray(p.timerStart[k], p.timerStart[k + 1]), p.timerSampled[k]!, nowMs);
      merged++;
    }
    for (let k = 0; k < p.setIds.length; k++) {
      const ref = this.#ref(agg, p.setIds[k]!, nowMs);
      if (ref === undefined) continue;
      for (const m of p.setMembers[k]!) agg.applyTo(ref, 0, m, 1, nowMs);
      merged++;
    }
    return merged;
  }

  /** The live series of worker series `id`, resolved again if it expired; undefined past `max-series` or if unknown. */
  #ref(agg: Aggregator, id: number, nowMs: number): SeriesRef | undefined {
    const ref = this.#refs[id];
    if (ref !== undefined && !ref.dead) return ref;
    const ident = this.#idents[id];
    if (ident === undefined) return undefined;
    const fresh = agg.resolve(ident, nowMs);
    this.#refs[id] = fresh;
    return fresh;
  }
}
