const C_0 = 0x30;
const C_9 = 0x39;
const C_DOT = 0x2e;
const C_PLUS = 0x2b;
const C_MINUS = 0x2d;

function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

function equalsIgnoreCase(buf: Uint8Array, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if (lowerAscii(buf[start + i]!) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Parses bytes with the rules of Go 1.12 `strconv.ParseFloat(s, 64)` in decimal form:
 * `[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?`, plus `inf`/`infinity` (any case,
 * optional sign) and `nan` (any case, no sign).
 *
 * Returns the value, `NaN` for a literal nan, or `undefined` when the text is not a
 * number or overflows (Go reports a range error there). Underflow gives 0 like Go.
 * Bare `Number()` is not used on unvalidated text: it accepts hex, blanks and `""`.
 */
export function parseGoFloat(buf: Uint8Array, start: number, end: number): number | undefined {
  if (start >= end) return undefined;
  let i = start;
  const first = buf[i]!;
  let negative = false;
  if (first === C_PLUS || first === C_MINUS) {
    negative = first === C_MINUS;
    i++;
    if (i === end) return undefined;
  }
  const lead = buf[i]!;
  if (!isDigit(lead) && lead !== C_DOT) {
    if (equalsIgnoreCase(buf, i, end, 'inf') || equalsIgnoreCase(buf, i, end, 'infinity')) {
      return negative ? -Infinity : Infinity;
    }
    if (i === start && equalsIgnoreCase(buf, i, end, 'nan')) return NaN;
    return undefined;
  }
  let mantissaDigits = 0;
  let intValue = 0;
  let simple = true; // only digits: fast exact path below
  while (i < end && isDigit(buf[i]!)) {
    intValue = intValue * 10 + (buf[i]! - C_0);
    mantissaDigits++;
    i++;
  }
  if (i < end && buf[i] === C_DOT) {
    simple = false;
    i++;
    while (i < end && isDigit(buf[i]!)) {
      mantissaDigits++;
      i++;
    }
  }
  if (mantissaDigits === 0) return undefined;
  if (i < end && (buf[i] === 0x65 || buf[i] === 0x45)) {
    simple = false;
    i++;
    if (i < end && (buf[i] === C_PLUS || buf[i] === C_MINUS)) i++;
    let expDigits = 0;
    while (i < end && isDigit(buf[i]!)) {
      expDigits++;
      i++;
    }
    if (expDigits === 0) return undefined;
  }
  if (i !== end) return undefined;
  if (simple && mantissaDigits <= 15) return negative ? -intValue : intValue;
  let text = '';
  for (let j = start; j < end; j++) text += String.fromCharCode(buf[j]!);
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}
