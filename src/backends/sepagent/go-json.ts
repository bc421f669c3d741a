const HEX = '0123456789abcdef';

/**
 * Encodes a string exactly like Go's encoding/json: `<`, `>`, `&`, U+2028 and U+2029 as
 * `\u00XX`/`\u20XX`, control characters other than `\n`, `\r`, `\t` as `\u00XX`, and lone
 * surrogates (invalid UTF-8 on the Go side) as U+FFFD.
 */
export function goJsonString(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 || c >= 0x2028) {
      plain = false;
      break;
    }
  }
  if (plain) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    else if (c === 0x2028 || c === 0x2029) out += `\\u202${HEX[c & 15]}`;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\ufffd';
    else out += s[i]!;
  }
  return out + '"';
}

/**
 * Formats a finite double like Go's encoder (shortest round-trip, same as ES
 * Number#toString), keeping negative zero as `-0`. Callers skip non-finite values.
 */
export function goJsonNumber(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}
