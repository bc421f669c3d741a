import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

/** Logger is the structured logger every component receives through its deps. */
export type Logger = PinoLogger;

/** Log output formats (`log-format`): one JSON object per line, or human-readable text. */
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  format: LogFormat;
  /** `debug` when verbose, otherwise `info`. */
  level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Where lines go; default: standard error, so stdout stays free for the stdout backend. */
  destination?: NodeJS.WritableStream;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const TEXT_OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Turns pino's JSON lines into `time LEVEL msg key=value ...` lines. */
function textStream(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(line: string): void {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const time = typeof rec['time'] === 'number' ? new Date(rec['time']).toISOString() : '';
      const level = LEVEL_NAMES[rec['level'] as number] ?? String(rec['level']);
      const fields = Object.entries(rec)
        .filter(([k]) => !TEXT_OMIT.has(k))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' ');
      out.write(
        `${time} ${level} ${typeof rec['msg'] === 'string' ? rec['msg'] : ''}${fields === '' ? '' : ' ' + fields}\n`,
      );
    },
  };
}

/** Creates the process logger. Logs go to stderr unless a destination is given. */
export function createLogger(opts: LoggerOptions): Logger {
  const out = opts.destination ?? process.stderr;
  const base = { base: null, level: opts.level, timestamp: pino.stdTimeFunctions.epochTime };
  if (opts.format === 'text') return pino(base, textStream(out));
  return pino(base, out as DestinationStream);
}

/** A logger that discards everything (tests, subcommands). */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * RateLimitedLog lets through at most `perWindow` lines per key per window and reports
 * how many were suppressed in between, so a failing peer or a flood of bad lines cannot
 * flood the log.
 */
export class RateLimitedLog {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #perWindow: number;
  readonly #state = new Map<string, { start: number; used: number; suppressed: number }>();

  constructor(windowMs: number, now: () => number, perWindow = 1) {
    this.#windowMs = windowMs;
    this.#now = now;
    this.#perWindow = perWindow;
  }

  /** Calls `emit(suppressedSinceLast)` if the key's window allows it; returns whether it did. */
  maybe(key: string, emit: (suppressed: number) => void): boolean {
    const t = this.#now();
    let s = this.#state.get(key);
    if (s === undefined || t - s.start >= this.#windowMs) {
      s = { start: t, used: 0, suppressed: s?.suppressed ?? 0 };
      this.#state.set(key, s);
    }
    if (s.used >= this.#perWindow) {
      s.suppressed++;
      return false;
    }
    s.used++;
    const suppressed = s.suppressed;
    s.suppressed = 0;
    emit(suppressed);
    return true;
  }
}
