import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

/**
 * User-supplied regular expressions (`sep_regexp`, `cluster_regexp`, Prometheus mapping
 * rules) in the reference's RE2 syntax, matched in time linear in the input by re2js (a
 * port of RE2/J): no pattern and no name can make matching backtrack. A JavaScript `RegExp`
 * would take exponential time on `(a+)+$` and quadratic time on patterns as common as
 * `external_cluster_[A-Za-z0-9._-]*sep_[0-9]+`; it is used only for the one plain shape
 * on which it cannot backtrack ({@link PLAIN_SHAPE}).
 *
 * Matching works on names of at most {@link MAX_NAME_BYTES}, which the line parser enforces.
 */
export interface Re2Pattern {
  /** The leftmost-first match as `RegExp.prototype.exec` gives it (`index`, `groups`), or null. */
  exec(input: string): RegExpExecArray | null;
  /** Whether the pattern matches anywhere in `input` (the engine's DFA, no captures). */
  test(input: string): boolean;
}

type Re2Module = { RE2JS: typeof RE2JS };
let engine: Re2Module | undefined;

/**
 * The engine is loaded on first use (a daemon without patterns does not pay its ~8 MB
 * of code), synchronously, because config validation is synchronous.
 */
function re2(): Re2Module {
  engine ??= createRequire(import.meta.url)('re2js') as Re2Module;
  return engine;
}

/**
 * The one shape of pattern matched by JavaScript's own RegExp, without loading re2js
 * (~1.1 MB of heap in every pod that would load it only for this): a literal of ASCII
 * letters, digits and `_`, optionally followed by one group holding a bracketed class of
 * such characters and ranges of them, repeated with `+` or `*`. The chart's defaults,
 * `sep([0-9]+)` and `external_cluster_sep([0-9]+)`, have it. Such a pattern cannot
 * backtrack: once the literal matched, the greedy repeat that ends the pattern takes its
 * class's run and succeeds (`+` fails at once on a character outside the class), so a
 * search costs at most the literal's length per position, linear in the name; and it
 * finds RE2's leftmost-first match, groups and index (the property test holds the two
 * engines equal).
 */
const PLAIN_SHAPE = /^[A-Za-z0-9_]*(?:\(\[(?:[A-Za-z0-9_](?:-[A-Za-z0-9_])?)+\][+*]\))?$/;

/** `pattern` as a JavaScript RegExp if it has the plain shape (and is valid), else undefined. */
function plain(pattern: string): Re2Pattern | undefined {
  if (!PLAIN_SHAPE.test(pattern)) return undefined;
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    return undefined; // e.g. a range out of order: re2js gives RE2's message
  }
  return { exec: (input) => re.exec(input), test: (input) => re.test(input) };
}

/** Compiles an RE2 pattern, or returns why it is not one (RE2's own message). */
export function compileRe2(pattern: string): Re2Pattern | string {
  const fast = plain(pattern);
  if (fast !== undefined) return fast;
  let compiled: RE2JS;
  try {
    compiled = re2().RE2JS.compile(pattern);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return {
    // The DFA answers "no match" without captures, the common case for most names.
    exec: (input) => (compiled.test(input) ? (compiled.exec(input) as RegExpExecArray | null) : null),
    test: (input) => compiled.test(input),
  };
}
