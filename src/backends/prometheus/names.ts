/**
 * Makes a StatsD name (or tag key) a valid Prometheus metric or label name the way
 * statsd_exporter does: every character other than ASCII letters, digits and `_` becomes
 * `_`, except that a `-` right after a `-` adds nothing (`a--b` and `a---b` → `a_b`); a leading
 * digit gets a `_` in front.
 */
export function escapeMetricName(name: string): string {
  if (name === '') return '';
  // Pieces joined once at the end: the result is one flat string, not a chain of
  // concatenations and slices that would keep the whole StatsD name alive with it.
  const parts: string[] = [];
  let start = 0;
  let prev = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const valid = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95; /* a-z A-Z 0-9 _ */
    const ch = name[i]!;
    if (!valid) {
      parts.push(name.slice(start, i));
      // A surrogate pair is one character: one `_`.
      const width = c >= 0xd800 && c <= 0xdbff && i + 1 < name.length ? 2 : 1;
      if (!(ch === '-' && prev === '-')) parts.push('_');
      start = i + width;
      i += width - 1;
    }
    prev = ch;
  }
  const digitFirst = name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57;
  if (parts.length === 0) return digitFirst ? `_${name}` : name;
  parts.push(name.slice(start));
  if (digitFirst) parts.unshift('_');
  return parts.join('');
}
