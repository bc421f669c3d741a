import type { SeriesRef } from '../aggregator/aggregator.js';
import { doubled } from '../shared/typed-arrays.js';

const EMPTY = 0;
const INITIAL_SLOTS = 1 << 12;

/**
 * LineCache maps the identity bytes of a StatsD line (its name and everything after the
 * value: type, rate, tags) plus the sender to the series the slow path resolved for
 * it, so a repeated series costs one hash, one byte comparison and a value parse.
 *
 * Keys live in one growing byte arena and the table is open-addressed over typed arrays,
 * so 100,000 entries cost a few MB and no per-entry objects besides the series.
 * Bounded: past `maxEntries` the cache starts over (it is only a cache).
 */
export class LineCache {
  readonly #maxEntries: number;
  #mask = INITIAL_SLOTS - 1;
  /** Slot → entry index + 1 (0 = empty). */
  #slots = new Int32Array(INITIAL_SLOTS);
  #hashes = new Int32Array(INITIAL_SLOTS >> 1);
  #keyStart = new Int32Array(INITIAL_SLOTS >> 1);
  #keyLen = new Int32Array(INITIAL_SLOTS >> 1);
  #rates = new Float64Array(INITIAL_SLOTS >> 1);
  #accs: SeriesRef[] = [];
  #hosts: string[] = [];
  #arena = new Uint8Array(1 << 16);
  #arenaUsed = 0;
  #count = 0;

  constructor(maxEntries = 1 << 21) {
    this.#maxEntries = maxEntries;
  }

  /** Number of cached lines. */
  get size(): number {
    return this.#count;
  }

  /**
   * Finds the entry for a line whose identity is `bytes[a0, a1)` followed by
   * `bytes[b0, b1)`, sent by `host`. Returns the entry index or -1.
   */
  find(hash: number, bytes: Uint8Array, a0: number, a1: number, b0: number, b1: number, host: string): number {
    const len = a1 - a0 + (b1 - b0);
    const arena = this.#arena;
    let slot = hash & this.#mask;
    for (;;) {
      const e = this.#slots[slot]!;
      if (e === EMPTY) return -1;
      const i = e - 1;
      if (this.#hashes[i] === hash && this.#keyLen[i] === len && this.#hosts[i] === host) {
        let k = this.#keyStart[i]!;
        let same = true;
        for (let p = a0; p < a1; p++, k++) {
          if (arena[k] !== bytes[p]) {
            same = false;
            break;
          }
        }
        if (same) {
          for (let p = b0; p < b1; p++, k++) {
            if (arena[k] !== bytes[p]) {
              same = false;
              break;
            }
          }
        }
        if (same) return i;
      }
      slot = (slot + 1) & this.#mask;
    }
  }

  /** The series of entry `i`. */
  series(i: number): SeriesRef {
    return this.#accs[i]!;
  }

  /** The sample rate of entry `i`. */
  rate(i: number): number {
    return this.#rates[i]!;
  }

  /** Points entry `i` at a new series (the old one expired). */
  replace(i: number, acc: SeriesRef): void {
    this.#accs[i] = acc;
  }

  /** Adds an entry (the caller checked it is absent). */
  insert(
    hash: number,
    bytes: Uint8Array,
    a0: number,
    a1: number,
    b0: number,
    b1: number,
    host: string,
    acc: SeriesRef,
    rate: number,
  ): void {
    if (this.#count >= this.#maxEntries) this.clear();
    const len = a1 - a0 + (b1 - b0);
    if (this.#arenaUsed + len > this.#arena.length) {
      const bigger = new Uint8Array(Math.max(this.#arena.length * 2, this.#arenaUsed + len));
      bigger.set(this.#arena.subarray(0, this.#arenaUsed));
      this.#arena = bigger;
    }
    const start = this.#arenaUsed;
    this.#arena.set(bytes.subarray(a0, a1), start);
    this.#arena.set(bytes.subarray(b0, b1), start + (a1 - a0));
    this.#arenaUsed += len;
    const i = this.#count++;
    if (i >= this.#hashes.length) this.#growEntries();
    this.#hashes[i] = hash;
    this.#keyStart[i] = start;
    this.#keyLen[i] = len;
    this.#rates[i] = rate;
    this.#accs[i] = acc;
    this.#hosts[i] = host;
    if (this.#count * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    else this.#place(i);
  }

  /** Forgets everything (series are unaffected). */
  clear(): void {
    this.#mask = INITIAL_SLOTS - 1;
    this.#slots = new Int32Array(INITIAL_SLOTS);
    this.#hashes = new Int32Array(INITIAL_SLOTS >> 1);
    this.#keyStart = new Int32Array(INITIAL_SLOTS >> 1);
    this.#keyLen = new Int32Array(INITIAL_SLOTS >> 1);
    this.#rates = new Float64Array(INITIAL_SLOTS >> 1);
    this.#accs = [];
    this.#hosts = [];
    this.#arenaUsed = 0;
    this.#count = 0;
  }

  #place(i: number): void {
    let slot = this.#hashes[i]! & this.#mask;
    while (this.#slots[slot] !== EMPTY) slot = (slot + 1) & this.#mask;
    this.#slots[slot] = i + 1;
  }

  #rehash(slots: number): void {
    this.#slots = new Int32Array(slots);
    this.#mask = slots - 1;
    for (let i = 0; i < this.#count; i++) this.#place(i);
  }

  #growEntries(): void {
    this.#hashes = doubled(this.#hashes);
    this.#keyStart = doubled(this.#keyStart);
    this.#keyLen = doubled(this.#keyLen);
    this.#rates = doubled(this.#rates);
  }
}
