import { existsSync } from 'node:fs';
import type { ConfigIssue } from './errors.js';
import { parseHostPort, type HostPort } from './address.js';
import { parseDurationMs } from './duration.js';

/**
 * Small typed readers for raw config values. Each appends an issue and returns the
 * fallback when the value has the wrong type, so validation always collects every
 * problem instead of stopping at the first. Strings are accepted for numbers and
 * booleans because environment variables and flags arrive as text.
 */
export class Checker {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[] = []) {
    this.issues = issues;
  }

  error(path: string, message: string): void {
    this.issues.push({ path, message, severity: 'error' });
  }

  warn(path: string, message: string): void {
    this.issues.push({ path, message, severity: 'warning' });
  }

  /** Reports keys of `obj` not in `allowed` (already lower-cased). */
  unknownKeys(
    obj: Record<string, unknown>,
    allowed: readonly string[],
    prefix: string,
    hint?: Record<string, string>,
  ): void {
    for (const k of Object.keys(obj)) {
      if (allowed.includes(k)) continue;
      // Own keys only: `__proto__` would otherwise find the prototype.
      const renamed = hint !== undefined && Object.hasOwn(hint, k) ? hint[k] : undefined;
      this.error(join(prefix, k), renamed === undefined ? 'unknown key' : `unknown key; use "${renamed}" instead`);
    }
  }

  string(v: unknown, path: string, fallback: string): string {
    if (v === undefined) return fallback;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.error(path, `must be a string, got ${describe(v)}`);
    return fallback;
  }

  bool(v: unknown, path: string, fallback: boolean): boolean {
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string') {
      const s = v.trim().toLowerCase();
      if (['true', '1', 't', 'yes'].includes(s)) return true;
      if (['false', '0', 'f', 'no', ''].includes(s)) return false;
    }
    this.error(path, `must be true or false, got ${describe(v)}`);
    return fallback;
  }

  /** An integer within [min, max]. */
  int(v: unknown, path: string, fallback: number, min: number, max: number): number {
    if (v === undefined) return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) {
      this.error(path, `must be an integer, got ${describe(v)}`);
      return fallback;
    }
    if (n < min || n > max) {
      this.error(path, `must be between ${min} and ${max}, got ${n}`);
      return fallback;
    }
    return n;
  }

  /**
   * A listen address (`host:port`, `:port` = every interface, `[v6]:port`). With
   * `emptyIsOff`, an empty value is returned as is (the listener is off).
   */
  address(v: unknown, path: string, fallback: string, emptyIsOff: boolean): string {
    const s = this.string(v, path, fallback).trim();
    if (s === '' && emptyIsOff) return '';
    const hp = parseHostPort(s);
    if (typeof hp === 'string') this.error(path, hp);
    return s;
  }

  /** A byte size: an integer, or a number with a KiB/MiB/GiB (or k/m/g) suffix. */
  bytes(v: unknown, path: string, fallback: number, min: number, max: number): number {
    if (typeof v === 'string') {
      const m = /^\s*(\d+)\s*(k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(v);
      if (m === null) {
        this.error(path, `must be a byte count such as 8388608 or 8MiB, got ${describe(v)}`);
        return fallback;
      }
      const unit = (m[2] ?? '').toLowerCase()[0];
      const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
      return this.int(Number(m[1]) * mult, path, fallback, min, max);
    }
    return this.int(v, path, fallback, min, max);
  }

  /** A Go duration (`10s`, `500ms`) or a number of seconds. */
  duration(v: unknown, path: string, fallbackMs: number, minMs: number): number {
    if (v === undefined) return fallbackMs;
    let ms: number | undefined;
    if (typeof v === 'number' && Number.isFinite(v)) ms = v * 1000;
    else if (typeof v === 'string') ms = parseDurationMs(v);
    if (ms === undefined) {
      this.error(path, `must be a duration such as "10s", "500ms" or "1m30s", got ${describe(v)}`);
      return fallbackMs;
    }
    if (ms < minMs) {
      this.error(path, `must be at least ${minMs}ms, got ${describe(v)}`);
      return fallbackMs;
    }
    return ms;
  }

  /** A list: an array of strings, or one space-separated string. */
  list(v: unknown, path: string, fallback: readonly string[]): string[] {
    if (v === undefined) return [...fallback];
    if (typeof v === 'string') return v.split(/\s+/).filter((s) => s !== '');
    if (Array.isArray(v)) {
      const out: string[] = [];
      v.forEach((item, i) => {
        if (typeof item === 'string' || typeof item === 'number') out.push(String(item));
        else this.error(`${path}[${i}]`, `must be a string, got ${describe(item)}`);
      });
      return out;
    }
    this.error(path, `must be a list or a space-separated string, got ${describe(v)}`);
    return [...fallback];
  }

  /**
   * One of `values` (trimmed; compared in lower case unless `caseSensitive`); `fallback`
   * when absent (undefined: optional). A value outside them is an error naming every
   * allowed one.
   */
  oneOf<T extends string>(v: unknown, path: string, values: readonly T[], fallback: T, caseSensitive?: boolean): T;
  oneOf<T extends string>(
    v: unknown,
    path: string,
    values: readonly T[],
    fallback?: undefined,
    caseSensitive?: boolean,
  ): T | undefined;
  oneOf<T extends string>(
    v: unknown,
    path: string,
    values: readonly T[],
    fallback?: T,
    caseSensitive = false,
  ): T | undefined {
    if (v === undefined) return fallback;
    const before = this.issues.length;
    const raw = this.string(v, path, '').trim();
    if (this.issues.length > before) return fallback;
    const s = caseSensitive ? raw : raw.toLowerCase();
    if ((values as readonly string[]).includes(s)) return s as T;
    this.error(path, `must be ${alternatives(values)}, got "${raw}"`);
    return fallback;
  }

  /**
   * A URL with one of `schemes` (`http:`, `https:` by default), trimmed; '' when absent or
   * empty, which is an error when `required`. A `base` URL has no query, fragment or
   * credentials; with `noCredentials` (a hint where they go instead) it has no
   * credentials; `example` shows the expected form in messages.
   */
  url(
    v: unknown,
    path: string,
    opts: {
      required?: boolean;
      schemes?: readonly string[];
      base?: boolean;
      noCredentials?: string;
      example?: string;
    } = {},
  ): string {
    const s = this.string(v, path, '').trim();
    const example = opts.example === undefined ? '' : ` such as ${opts.example}`;
    if (s === '') {
      if (opts.required === true) this.error(path, `required: a URL${example}`);
      return '';
    }
    const schemes = opts.schemes ?? ['http:', 'https:'];
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      this.error(path, `"${s}" is not a URL${example}`);
      return s;
    }
    if (!schemes.includes(u.protocol))
      this.error(path, `must be ${alternatives(schemes.map((x) => `${x}//`))} URL, got "${u.protocol}"`);
    else if (opts.base === true && (u.search !== '' || u.hash !== '' || u.username !== ''))
      this.error(path, 'must be a base URL without query, fragment or credentials');
    else if (opts.noCredentials !== undefined && (u.username !== '' || u.password !== ''))
      this.error(path, `must not hold credentials; ${opts.noCredentials}`);
    return s;
  }

  /** A path to a file that must exist ('' when absent or empty: none). */
  file(v: unknown, path: string): string {
    const f = this.string(v, path, '').trim();
    if (f !== '' && !existsSync(f)) this.error(path, `"${f}" does not exist`);
    return f;
  }

  /**
   * A destination `host:port` (`[v6]:port`), both parts required. Undefined when absent,
   * empty or wrong (an error when `required` or wrong); `example` shows the form in the
   * message.
   */
  hostPort(v: unknown, path: string, opts: { required?: boolean; example?: string } = {}): HostPort | undefined {
    const s = this.string(v, path, '').trim();
    const example = opts.example === undefined ? '' : `, e.g. ${opts.example}`;
    if (s === '') {
      if (opts.required === true) this.error(path, `required: host:port${example}`);
      return undefined;
    }
    const hp = parseHostPort(s);
    if (typeof hp === 'string') this.error(path, hp);
    else if (hp.host === '' || hp.port === 0) this.error(path, `needs a host and a port, got "${s}"`);
    else return hp;
    return undefined;
  }

  /**
   * A table of extra HTTP request headers (names lower-cased). A name in `own` (set by
   * the sender itself) or `authorization` is refused with `authHint`, as is a value with
   * a line break or NUL (every request would fail).
   */
  headers(v: unknown, path: string, own: readonly string[], authHint: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (v === undefined) return out;
    if (!isPlainObject(v)) {
      this.error(path, 'must be a table of header names to values');
      return out;
    }
    for (const [k, raw] of Object.entries(v)) {
      const name = k.toLowerCase();
      if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) this.error(`${path}.${k}`, 'is not a header name');
      else if (own.includes(name) || name === 'authorization')
        this.error(`${path}.${k}`, `is set by the backend (${authHint})`);
      else {
        const value = this.string(raw, `${path}.${k}`, '');
        if (/[\r\n\0]/.test(value)) this.error(`${path}.${k}`, 'must not contain a line break or NUL');
        else out[name] = value;
      }
    }
    return out;
  }

  /** A table/section (plain object), or undefined when absent. */
  section(v: unknown, path: string): Record<string, unknown> | undefined {
    if (v === undefined) return undefined;
    if (isPlainObject(v)) return v;
    this.error(path, `must be a section (table/map), got ${describe(v)}`);
    return undefined;
  }
}

/** `"a"`, `"a" or "b"`, `"a", "b" or "c"`. */
export function alternatives(values: readonly string[]): string {
  const q = values.map((x) => `"${x}"`);
  return q.length <= 1 ? (q[0] ?? '""') : `${q.slice(0, -1).join(', ')} or ${q.at(-1)}`;
}

/** Joins key path segments with dots. */
export function join(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short description of a bad value for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a section';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : typeof v;
}
