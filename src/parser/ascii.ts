/** Byte values of the StatsD line syntax, shared by the parser and the ingest fast path. */
export const NUL = 0x00;
export const NEWLINE = 0x0a;
export const HASH = 0x23;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const COLON = 0x3a;
export const AT = 0x40;
export const UNDERSCORE = 0x5f;
export const PIPE = 0x7c;
