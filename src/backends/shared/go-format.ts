/** Go's `%f`: six decimals, `+Inf`/`-Inf`/`NaN` for non-finite values. */
export function goFixed(v: number): string {
  // Whole numbers (counts, idle series' zeros) are most of what is printed: no toFixed.
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) return `${v}.000000`;
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const s = v.toFixed(6);
  return Object.is(v, -0) ? '-' + s : s;
}

/**
 * Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal that reads back as
 * `v`, never in exponent form (`0.0000001`, `1000000000000000000000`).
 */
export function goShortest(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return Object.is(v, -0) ? '-0' : s;
  const sign = s.startsWith('-') ? '-' : '';
  const mantissa = s.slice(sign.length, e).replace('.', '');
  const point = s.indexOf('.') < 0 || s.indexOf('.') > e ? e - sign.length : s.indexOf('.') - sign.length;
  const exp = Number(s.slice(e + 1)) + point;
  if (exp <= 0) return `${sign}0.${'0'.repeat(-exp)}${mantissa}`;
  if (exp >= mantissa.length) return sign + mantissa + '0'.repeat(exp - mantissa.length);
  return `${sign}${mantissa.slice(0, exp)}.${mantissa.slice(exp)}`;
}
