import type picomatchType from 'picomatch';
import type { BackendTap } from '../backends/backend.js';
import type { IngestTap, Rejection } from '../ingest/observe.js';
import { CUT_BYTES } from '../ingest/observe.js';
import type { ParseErrorReason } from '../parser/sample.js';
import type { Transport } from '../ingest/observe.js';
import { onFirstUse } from '../shared/on-first-use.js';

/** The glob matcher, loaded by the first tap that gives a glob (most daemons never open one). */
const picomatch = onFirstUse<typeof picomatchType>(import.meta.url, 'picomatch');

/**
 * What a tap shows:
 * - `received`: every line received (UDP, Unix socket, TCP), one record per line;
 * - `rejected`: lines the parser refused, with the reason and where the line goes wrong;
 * - `unmatched`: series a backend left out (SepAgent names outside its regexps, Prometheus refusals);
 * - `datagram`: whole datagrams with their receive time, base64, for `capture`.
 */
export const TAP_KINDS = ['received', 'rejected', 'unmatched', 'datagram'] as const;
export type TapKind = (typeof TAP_KINDS)[number];

/** One NDJSON record of a tap. */
export type TapRecord =
  | { kind: 'received'; t: number; transport: Transport; source: string; line: string }
  | { kind: 'rejected'; t: number; source: string; reason: ParseErrorReason; at: number; line: string }
  | { kind: 'unmatched'; t: number; backend: string; name: string; reason: string }
  | { kind: 'datagram'; t: number; transport: Transport; source: string; data: string };

/** What one tap asked for. */
export interface TapRequest {
  readonly kinds: readonly TapKind[];
  /** A glob on the metric name (`envoy.cluster.*`); absent: every name. Not applied to datagrams. */
  readonly match?: string;
  /** Records after which the tap ends. */
  readonly count: number;
}

interface Subscriber {
  readonly kinds: ReadonlySet<TapKind>;
  readonly match: ((name: string) => boolean) | undefined;
  remaining: number;
  readonly write: (r: TapRecord) => void;
  readonly done: () => void;
}

const NEWLINE = 0x0a;

/**
 * TapHub is the live tap behind `/debug/tap`: it fans what the ingester and the backends
 * show out to the open taps, each filtered by kind and name. At most one tap per kind is
 * open at a time ({@link open} refuses a second), and the ingester is attached only while
 * a tap is open, so a daemon with no tap open pays one check per datagram.
 */
export class TapHub implements IngestTap, BackendTap {
  readonly #subs = new Set<Subscriber>();
  /** The kinds some open tap shows (kept as taps open and end, not looked up per datagram). */
  readonly #tapped = new Set<TapKind>();
  readonly #onActive: (active: boolean) => void;
  readonly #now: () => number;

  /** `onActive(true)` when the first tap opens, `onActive(false)` when the last one ends. */
  constructor(now: () => number, onActive: (active: boolean) => void) {
    this.#now = now;
    this.#onActive = onActive;
  }

  get open(): boolean {
    return this.#subs.size > 0;
  }

  #refreshKinds(): void {
    this.#tapped.clear();
    for (const s of this.#subs) for (const k of s.kinds) this.#tapped.add(k);
  }

  /**
   * Opens a tap; `done` is called once when it ends (its count reached or {@link close}d).
   * Returns the close function, or the kinds already tapped when one is (nothing opened).
   */
  subscribe(req: TapRequest, write: (r: TapRecord) => void, done: () => void): (() => void) | TapKind[] {
    const busy = req.kinds.filter((k) => this.#tapped.has(k));
    if (busy.length > 0) return busy;
    const glob = req.match === undefined || req.match === '' ? undefined : picomatch()(req.match, { dot: true });
    let ended = false;
    const sub: Subscriber = {
      kinds: new Set(req.kinds),
      match: glob,
      remaining: req.count,
      write,
      done: () => {
        if (ended) return;
        ended = true;
        this.#subs.delete(sub);
        this.#refreshKinds();
        if (this.#subs.size === 0) this.#onActive(false);
        done();
      },
    };
    this.#subs.add(sub);
    this.#refreshKinds();
    if (this.#subs.size === 1) this.#onActive(true);
    return sub.done;
  }

  #emit(kind: TapKind, name: string | undefined, record: () => TapRecord): void {
    let r: TapRecord | undefined;
    for (const s of this.#subs) {
      if (!s.kinds.has(kind) || (name !== undefined && s.match !== undefined && !s.match(name))) continue;
      s.write((r ??= record()));
      if (--s.remaining <= 0) s.done();
    }
  }

  datagram(bytes: Uint8Array, start: number, end: number, source: string, transport: Transport, nowMs: number): void {
    this.#emit('datagram', undefined, () => ({
      kind: 'datagram',
      t: nowMs,
      transport,
      source,
      data: Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('base64'),
    }));
    if (!this.#tapped.has('received')) return;
    let p = start;
    while (p < end) {
      let e = p;
      while (e < end && bytes[e] !== NEWLINE) e++;
      if (e > p) this.#receivedLine(bytes, p, e, source, transport, nowMs);
      p = e + 1;
    }
  }

  line(bytes: Uint8Array, start: number, end: number, source: string, nowMs: number): void {
    // A TCP line is captured as a datagram of one line (replay sends it over UDP).
    this.#emit('datagram', undefined, () => ({
      kind: 'datagram',
      t: nowMs,
      transport: 'tcp',
      source,
      data: Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('base64'),
    }));
    this.#receivedLine(bytes, start, end, source, 'tcp', nowMs);
  }

  #receivedLine(
    bytes: Uint8Array,
    start: number,
    end: number,
    source: string,
    transport: Transport,
    nowMs: number,
  ): void {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
    const colon = text.indexOf(':');
    const name = colon < 0 ? text : text.slice(0, colon);
    this.#emit('received', name, () => ({ kind: 'received', t: nowMs, transport, source, line: text }));
  }

  readonly rejected: Rejection = (bytes, start, end, reason, at, source, nowMs) => {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(end - start, CUT_BYTES)).toString('utf8');
    const colon = text.indexOf(':');
    this.#emit('rejected', colon < 0 ? text : text.slice(0, colon), () => ({
      kind: 'rejected',
      t: nowMs,
      source,
      reason,
      at: at - start,
      line: text,
    }));
  };

  unmatched(backend: string, name: string, reason: string): void {
    this.#emit('unmatched', name, () => ({ kind: 'unmatched', t: this.#now(), backend, name, reason }));
  }

  /** Ends every open tap. */
  closeAll(): void {
    for (const s of [...this.#subs]) s.done();
  }
}
