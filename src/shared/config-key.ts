import { Checker } from './check.js';
import { DaemonError } from './errors.js';

/** Value kinds of top-level keys. */
export type KeyType = 'string' | 'bool' | 'int' | 'bytes' | 'duration' | 'list' | 'address';

/** How a key reacts to a config reload. */
export type Reload = 'live' | 'restart';

/** Where --help and docs/config.md list a key. */
export type KeyGroup = 'Listeners' | 'Aggregation' | 'Backends' | 'Logging' | 'Operation' | 'Compatibility';

/**
 * One top-level setting, declared once: its flag (`--<key>`), its `GSD_` environment
 * variable, its config-file key, its type and bounds, the default applied when it is unset,
 * its help text, where it is documented and how it reacts to a reload. Everything else
 * (parsing, --help, the reload plan, the docs table, the chart's schema) reads this row.
 */
export interface KeySpec {
  /** Key as written in files and as the flag name (`flush-interval`). */
  readonly key: string;
  readonly type: KeyType;
  /**
   * The value applied when the key is unset, written as in a config file (`1s`, `8MiB`,
   * `127.0.0.1:8125`); parsed by the same reader as a value that is set. A function for a
   * default that depends on the machine (then `shown` says what it is). Absent only when
   * the key `inherits` its default.
   */
  readonly default?: string | (() => string);
  /** The default as --help and the docs show it, when not the `default` text itself. */
  readonly shown?: string;
  /** A duration key whose value is the default (`expiry-interval-counter` follows `expiry-interval`). */
  readonly inherits?: string;
  /** Bounds of an `int`, `bytes` or `duration` (ms) value. */
  readonly min?: number;
  readonly max?: number;
  /** The allowed values of a `string` key (compared in lower case). */
  readonly values?: readonly string[];
  /** An `address` key whose empty value switches its listener off. */
  readonly emptyIsOff?: true;
  /** --help group and docs/config.md section. */
  readonly group: KeyGroup;
  readonly describe: string;
  readonly reload: Reload;
  /** The field of the validated config the key sets (the reload plan names changes by key). */
  readonly field?: string;
  /** Accepted so gostatsd files keep loading, but has no effect here. */
  readonly noEffect?: true;
}

/** The default of `k` as --help and the docs show it. */
export function shownDefault(k: KeySpec): string {
  if (k.shown !== undefined) return k.shown;
  if (k.inherits !== undefined) return k.inherits;
  const text = defaultText(k);
  return text === '' ? '""' : text;
}

/**
 * KeyReader reads top-level keys of a raw document through their rows: the row's type,
 * bounds and allowed values check the value, its default fills in when the key is unset.
 * Problems go to the Checker with the key as path (a wrong value is an error, so what it
 * falls back to is never applied); reading a key with the wrong kind of reader is a
 * programming error (ERR_INTERNAL).
 */
export class KeyReader {
  readonly c: Checker;
  readonly #doc: Record<string, unknown>;
  readonly #rows: ReadonlyMap<string, KeySpec>;

  constructor(c: Checker, doc: Record<string, unknown>, rows: Iterable<KeySpec> | ReadonlyMap<string, KeySpec>) {
    this.c = c;
    this.#doc = doc;
    this.#rows = rows instanceof Map ? rows : new Map([...(rows as Iterable<KeySpec>)].map((r) => [r.key, r]));
  }

  /** The row of `key`. */
  spec(key: string): KeySpec {
    const row = this.#rows.get(key);
    if (row === undefined) throw new DaemonError('ERR_INTERNAL', `config key "${key}" has no row in the key table`);
    return row;
  }

  /** The document's value of a key or section as written (sections have no row). */
  raw(name: string): unknown {
    return this.#doc[name];
  }

  /** Whether the document sets `key`. */
  isSet(key: string): boolean {
    return this.#doc[key] !== undefined;
  }

  bool(key: string): boolean {
    const [v, k] = this.#value(key, 'bool');
    return this.c.bool(v, k.key, false);
  }

  int(key: string): number {
    const [v, k] = this.#value(key, 'int');
    return this.c.int(v, k.key, 0, ...bounds(k));
  }

  bytes(key: string): number {
    const [v, k] = this.#value(key, 'bytes');
    return this.c.bytes(v, k.key, 0, ...bounds(k));
  }

  /** A duration in ms (an unset key that inherits takes its parent's value). */
  duration(key: string): number {
    const [v, k] = this.#value(key, 'duration');
    if (k.inherits !== undefined && !this.isSet(key))
      // Quietly: a wrong parent value is reported once, under the parent's key.
      return new KeyReader(new Checker(), this.#doc, this.#rows).duration(k.inherits);
    return this.c.duration(v, k.key, 0, k.min ?? 0);
  }

  list(key: string): string[] {
    const [v, k] = this.#value(key, 'list');
    return this.c.list(v, k.key, []);
  }

  /** A string, trimmed; one of the row's `values` when it has them. */
  string(key: string): string {
    const [v, k] = this.#value(key, 'string');
    if (k.values !== undefined) return this.c.oneOf(v, k.key, k.values, k.values[0] ?? '');
    return this.c.string(v, k.key, '').trim();
  }

  address(key: string): string {
    const [v, k] = this.#value(key, 'address');
    return this.c.address(v, k.key, '', k.emptyIsOff === true);
  }

  /** The value set, else the default text. */
  #value(key: string, type: KeyType): [unknown, KeySpec] {
    const k = this.spec(key);
    if (k.type !== type) throw new DaemonError('ERR_INTERNAL', `config key "${key}" is a ${k.type}, read as a ${type}`);
    const set = this.#doc[key];
    if (set !== undefined) return [set, k];
    return [defaultText(k), k];
  }
}

/** The default of `k` as file text. */
export function defaultText(k: KeySpec): string {
  return typeof k.default === 'function' ? k.default() : (k.default ?? '');
}

function bounds(k: KeySpec): [number, number] {
  return [k.min ?? 0, k.max ?? Number.MAX_SAFE_INTEGER];
}
