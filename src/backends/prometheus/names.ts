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

/**
 * A DogStatsD tag as a label, the way statsd_exporter reads it: `key:value`, the key's
 * leading `#` dropped (the DataDog PHP client writes `|#tag1:a,#tag2:b`) and the rest
 * escaped; undefined for a tag without a key or without a value (it adds no label).
 */
export function tagLabel(tag: string): readonly [name: string, value: string] | undefined {
  const i = tag.indexOf(':');
  const from = tag.startsWith('#') ? 1 : 0;
  if (i <= from || i === tag.length - 1) return undefined;
  return [escapeMetricName(tag.slice(from, i)), tag.slice(i + 1)];
}
