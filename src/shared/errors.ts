/**
 * Stable error codes. Callers and tests branch on `code`, never on message text.
 * - `ERR_CONFIG_INVALID`: a configuration, settings document or flag is refused;
 * - `ERR_BACKEND_SEND`: a backend could not deliver (its `errno`, when it has one, says why);
 * - `ERR_LISTEN`: a listener cannot bind;
 * - `ERR_KUBE_API`: the Kubernetes API server refused or failed a request;
 * - `ERR_INPUT`: bytes from outside are not what they must be (a file, a request body);
 * - `ERR_STATE`: the operation does not fit the component's state (stopped, not started);
 * - `ERR_INTERNAL`: a broken invariant of the program itself, never the user's doing.
 */
export type DaemonErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_BACKEND_SEND'
  | 'ERR_LISTEN'
  | 'ERR_KUBE_API'
  | 'ERR_INPUT'
  | 'ERR_STATE'
  | 'ERR_INTERNAL';

/** DaemonError is the base of every error the daemon raises on purpose. */
export class DaemonError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: DaemonErrorCode;

  constructor(code: DaemonErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DaemonError';
    this.code = code;
  }
}

/** One problem found in a configuration document, located by its key path. */
export interface ConfigIssue {
  /** Key path such as `sepagent.port` or `percent-threshold[1]`; `''` for the whole document. */
  readonly path: string;
  readonly message: string;
  /** Warnings are reported but do not reject the document. */
  readonly severity: 'error' | 'warning';
}

/** ConfigError carries every problem of a rejected configuration at once. */
export class ConfigError extends DaemonError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], source = 'configuration') {
    super('ERR_CONFIG_INVALID', `invalid ${source}:\n${formatIssues(issues)}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** BackendError is how a backend reports a failed flush; `backend` names the instance. */
export class BackendError extends DaemonError {
  readonly backend: string;

  constructor(backend: string, message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND_SEND', message, options);
    this.name = 'BackendError';
    this.backend = backend;
  }
}

/** One issue as `sepagent.port: must be ...` (`(document)` for the document as a whole). */
export function describeIssue(i: ConfigIssue): string {
  return `${i.path === '' ? '(document)' : i.path}: ${i.message}`;
}

/** Issues shown at most; a document with more says how many it left out (a log line stays readable). */
export const MAX_SHOWN_ISSUES = 50;

/** The first {@link MAX_SHOWN_ISSUES} issues described, and what is left out. */
function shown(issues: readonly ConfigIssue[]): { lines: string[]; more: string | undefined } {
  const lines = issues.slice(0, MAX_SHOWN_ISSUES).map((i) => `${i.severity} ${describeIssue(i)}`);
  const left = issues.length - MAX_SHOWN_ISSUES;
  return { lines, more: left > 0 ? `… and ${left} more problem${left === 1 ? '' : 's'}` : undefined };
}

/** Renders issues one per line as `  error sepagent.port: must be ...`. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  const { lines, more } = shown(issues);
  return [...lines, ...(more === undefined ? [] : [more])].map((l) => `  ${l}`).join('\n');
}

/** Renders issues on one line, `; `-separated (logs, Kubernetes Events). */
export function issuesOnOneLine(issues: readonly ConfigIssue[]): string {
  const { more } = shown(issues);
  const parts = issues.slice(0, MAX_SHOWN_ISSUES).map(describeIssue);
  return [...parts, ...(more === undefined ? [] : [more])].join('; ');
}

/** Returns the errno-style code of an unknown thrown value (a SendError's `errno`), or `'UNKNOWN'`. */
export function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'errno' in err && typeof err.errno === 'string') return err.errno;
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return 'UNKNOWN';
}

/** Returns the message of an unknown thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A thrown value as an Error: itself, or an `ERR_INTERNAL` DaemonError carrying it (a promise rejected with a non-Error). */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new DaemonError('ERR_INTERNAL', String(e), { cause: e });
}
