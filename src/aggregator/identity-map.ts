import { CHUNK_SERIES } from '../shared/cooperative.js';
import type { SeriesIdentity } from './snapshot.js';

/**
 * Values keyed by a series' identity within one kind: by tags key, then name. The strings
 * of the series are looked up as they are, so no key string is built per series (most
 * series share a few tags keys).
 */
export class IdentityMap<E> {
  readonly #byTags = new Map<string, Map<string, E>>();

  get(id: SeriesIdentity): E | undefined {
    return this.#byTags.get(id.tagsKey)?.get(id.name);
  }

  set(id: SeriesIdentity, e: E): void {
    let byName = this.#byTags.get(id.tagsKey);
    if (byName === undefined) this.#byTags.set(id.tagsKey, (byName = new Map<string, E>()));
    byName.set(id.name, e);
  }

  /** Removes the values `drop` picks, yielding every {@link CHUNK_SERIES} values (for runChunked). */
  *deleteWhereChunked(drop: (e: E) => boolean): Generator<void, void> {
    let k = 0;
    for (const [tagsKey, byName] of this.#byTags) {
      for (const [name, e] of byName) {
        if (++k % CHUNK_SERIES === 0) yield;
        if (drop(e)) byName.delete(name);
      }
      if (byName.size === 0) this.#byTags.delete(tagsKey);
    }
  }
}
