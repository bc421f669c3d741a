/**
 * Translates an RE2 pattern (the syntax of the Go reference) into an equivalent
 * JavaScript RegExp, or explains why it cannot. Both engines pick the leftmost-first
 * match, so for the supported subset the matches are identical.
 *
 * Supported translations: `(?P<name>…)` → `(?<name>…)`, `\A` → `^`, `\z` → `$`, a leading
 * `(?i)`/`(?s)`/`(?is)` → flags, and POSIX classes like `[[:alpha:]]` inside brackets.
 * Rejected: look-around and back-references (RE2 has neither), `\pN`-style Unicode
 * classes, `\C`, `\Q…\E` and flag groups anywhere but the start.
 */
export function re2ToRegExp(pattern: string): RegExp | string {
  let src = pattern;
  let flags = '';
  const lead = /^\(\?([is]+)\)/.exec(src);
  if (lead !== null) {
    flags = [...new Set(lead[1])].join('');
    src = src.slice(lead[0].length);
  }
  if (/\(\?[=!]|\(\?<[=!]/.test(src)) return 'look-around is not RE2 syntax';
  if (/\\[1-9]|\\k</.test(src)) return 'back-references are not RE2 syntax';
  if (/\\[pP]/.test(src)) return 'Unicode classes (\\p) are not supported; use explicit ranges';
  if (/\\[CQE]/.test(src)) return '\\C, \\Q and \\E are not supported';
  if (/\(\?[a-zA-Z-]+[):]/.test(src)) return 'flag groups are only supported at the very start, e.g. (?i)';
  src = src
    .replaceAll('(?P<', '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$')
    .replace(/\[:(alnum|alpha|digit|lower|upper|space|word|xdigit|punct):\]/g, (_m, cls: string) => POSIX[cls] ?? '');
  try {
    return new RegExp(src, flags);
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
  }
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  digit: '0-9',
  lower: 'a-z',
  upper: 'A-Z',
  space: '\\t\\n\\v\\f\\r ',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
};
