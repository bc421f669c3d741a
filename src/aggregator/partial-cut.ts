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
  /**
   * The timers (indices into `timerIds`) that passed `timer-exact-values`, each with its
   * histogram in `timerFolded` (their values are then empty).
   */
  readonly timerFoldedAt: Int32Array;
  readonly timerFolded: TimerHistogramWire[];
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
    p.timerFoldedAt,
    p.setIds,
  ].map((a) => a.buffer as ArrayBuffer);
}

/**
 * PartialCutWriter turns an ingest worker's interval cuts into {@link PartialCut}s: it
 * numbers the worker's series (ids of expired series are reused) and keeps which raw
 * names were sent. One writer per worker aggregator, fed every cut it takes.
 *
 * Ids are kept by position, with no map: a cut lists each kind's series in creation
 * order, the survivors of the previous cut first (expiry keeps the order), then the
 * series created since. So the previous cut's ids, less the expired ones, are the first
 * ids of the next cut, and only the new series at the end get new ids.
 */
export class PartialCutWriter {
  /** Per kind: the ids of the series the previous cut left alive, in their order. */
  readonly #ids: Record<MetricKind, Int32Array> = {
    counter: new Int32Array(0),
    gauge: new Int32Array(0),
    timer: new Int32Array(0),
    set: new Int32Array(0),
  };
  readonly #free: number[] = [];
  #next = 0;
  /** When the previous cut was taken: a series last seen before it had no samples since. */
  #since = -Infinity;
  #rawNamesSent = 0;

  /** Series the writer has numbered and not retired (tests, diagnostics). */
  get knownSeries(): number {
    return KINDS.reduce((n, k) => n + this.#ids[k].length, 0);
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
    /**
     * Numbers the series of one kind's list (new ones at its end are added), retires the
     * expired ones, and returns the ids and how many series had samples.
     */
    const number = (kind: MetricKind, series: readonly Accumulator[]): { ids: Int32Array; touched: number } => {
      const previous = this.#ids[kind];
      const ids = new Int32Array(series.length);
      let alive = 0;
      let touched = 0;
      for (let i = 0; i < series.length; i++) {
        const acc = series[i]!;
        let id: number;
        if (i < previous.length) id = previous[i]!;
        else {
          // A new series is announced at once (even if it has no samples to send yet).
          id = this.#free.pop() ?? this.#next++;
          added.push(acc);
          addedIds.push(id);
        }
        ids[i] = id;
        if (acc.dead) {
          this.#free.push(id);
          retired.push(id);
        } else {
          alive++;
          if (acc.lastSeenMs >= since) touched++;
        }
      }
      const kept = new Int32Array(alive);
      for (let i = 0, j = 0; i < series.length; i++) if (!series[i]!.dead) kept[j++] = ids[i]!;
      this.#ids[kind] = kept;
      return { ids, touched };
    };
    /** Whether series `acc` goes into this partial cut. */
    const sends = (acc: Accumulator): boolean => !acc.dead && acc.lastSeenMs >= since;

    const c = number('counter', cut.counters);
    const counterIds = new Int32Array(c.touched);
    const counterValues = new Float64Array(c.touched);
    for (let i = 0, k = 0; i < cut.counters.length; i++) {
      if (!sends(cut.counters[i]!)) continue;
      counterIds[k] = c.ids[i]!;
      counterValues[k++] = cut.counterValues[i]!;
    }

    const g = number('gauge', cut.gauges);
    const gaugeIds = new Int32Array(g.touched);
    const gaugeValues = new Float64Array(g.touched);
    const gaugeIsDelta = new Uint8Array(g.touched);
    for (let i = 0, k = 0; i < cut.gauges.length; i++) {
      const acc = cut.gauges[i]!;
      if (!sends(acc)) continue;
      gaugeIds[k] = g.ids[i]!;
      gaugeValues[k] = acc.valueSet ? acc.current : acc.delta;
      gaugeIsDelta[k++] = acc.valueSet ? 0 : 1;
      acc.valueSet = false;
      acc.delta = 0;
    }

    const t = number('timer', cut.timers);
    const timerIds = new Int32Array(t.touched);
    const timerStart = new Int32Array(t.touched + 1);
    const timerSampled = new Float64Array(t.touched);
    const foldedAt: number[] = [];
    const timerFolded: TimerHistogramWire[] = [];
    let total = 0;
    for (let i = 0; i < cut.timers.length; i++)
      if (sends(cut.timers[i]!) && cut.timerFolded[i] === undefined)
        total += cut.timerStart[i + 1]! - cut.timerStart[i]!;
    const timerValues = new Float64Array(total);
    let off = 0;
    for (let i = 0, k = 0; i < cut.timers.length; i++) {
      if (!sends(cut.timers[i]!)) continue;
      timerIds[k] = t.ids[i]!;
      timerStart[k] = off;
      timerSampled[k] = cut.timerSampled[i]!;
      const folded = cut.timerFolded[i];
      if (folded !== undefined) {
        foldedAt.push(k);
        timerFolded.push(folded.toWire());
      } else {
        for (let j = cut.timerStart[i]!, end = cut.timerStart[i + 1]!; j < end; j++)
          timerValues[off++] = cut.timerData[j]!;
      }
      k++;
    }
    timerStart[t.touched] = off;

    const st = number('set', cut.sets);
    const setIds = new Int32Array(st.touched);
    const setMembers: string[][] = new Array<string[]>(st.touched);
    for (let i = 0, k = 0; i < cut.sets.length; i++) {
      if (!sends(cut.sets[i]!)) continue;
      setIds[k] = st.ids[i]!;
      setMembers[k++] = [...cut.setMembers[i]!];
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
      timerFoldedAt: Int32Array.from(foldedAt),
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
    // timerFolded[f] belongs to the timer at timerFoldedAt[f]; the others carry their values.
    for (let k = 0, f = 0; k < p.timerIds.length; k++) {
      const wire = p.timerFoldedAt[f] === k ? p.timerFolded[f++] : undefined;
      const ref = this.#ref(agg, p.timerIds[k]!, nowMs);
      if (ref === undefined) continue;
      const folded = wire === undefined ? undefined : FoldedTimer.fromWire(wire);
      if (folded !== undefined) agg.mergeTimerHistogram(ref, folded, p.timerSampled[k]!, nowMs);
      else agg.mergeTimer(ref, p.timerValues, p.timerSampled[k]!, nowMs, p.timerStart[k], p.timerStart[k + 1]);
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
