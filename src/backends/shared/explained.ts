import type { Explanation } from '../backend.js';

/**
 * The explanation of a backend that writes what it is given: the lines it would send,
 * or, when a snapshot gives it nothing to write, that reason.
 */
export function explained(emits: readonly string[], none = 'these series give it nothing to write'): Explanation {
  return emits.length > 0 ? { emits } : { emits, leftOut: { reason: 'no_output', detail: none } };
}

/** The non-empty lines of a text. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}
