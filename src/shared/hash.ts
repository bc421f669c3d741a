const FNV_OFFSET = 0x811c9dc5;
/** The 32-bit FNV-1a prime; {@link fnvByte} folds one more byte into a hash. */
export const FNV_PRIME = 0x01000193;

/**
 * FNV-1a (32-bit) over a string's UTF-16 units, continuing from `seed` (the FNV offset by
 * default), so several strings can be hashed as one: `fnv1a(host, fnv1a(name))`.
 */
export function fnv1a(s: string, seed = FNV_OFFSET): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}
