/**
 * Percent-escapes read in place, one code point at a time, with nothing allocated (AMP-01): the
 * one UTF-8 reader behind the strict decoder (`decode.ts`: a bad escape is no value) and the
 * lenient cursor of the spelling checks (`cookie-spelling.ts`, `key-spelling.ts`: a bad escape
 * is a character of its own, as the parsers they model keep it).
 */

/** {@link escapeAt}'s code point -1 (no character), shifted into place. */
const NO_CHARACTER = -8;

/**
 * Reads the UTF-8 sequence of `%XX` escapes at `i` of `s` (before `end`): returns how many escapes
 * it spans in the low 3 bits and its code point above them (`r >> 3`; -1 when the escapes are no
 * character), packed so the walks allocate nothing; 0 when `i` holds no `%XX`. A byte no
 * sequence starts with, or a sequence cut short or broken, spans its first escape; an overlong
 * form, a surrogate or a code point past U+10FFFF (RFC 3629) spans the whole sequence.
 *
 * @example
 * ```ts
 * const r = escapeAt('%C3%A9', 0, 6); // r & 7 === 2, r >> 3 === 0xe9
 * escapeAt('%E0%A4%A', 0, 8) >> 3; // -1 (and & 7 === 1)
 * ```
 */
export function escapeAt(s: string, i: number, end: number): number {
  const lead = escapeByte(s, i, end);
  if (lead < 0) return 0;
  if (lead < 0x80) return (lead << 3) | 1;
  const n = lead < 0xc2 || lead > 0xf4 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
  if (n === 0) return NO_CHARACTER | 1;
  let v = lead & (0x7f >> n);
  for (let k = 1; k < n; k++) {
    const b = escapeByte(s, i + 3 * k, end);
    if ((b & 0xc0) !== 0x80) return NO_CHARACTER | 1;
    v = (v << 6) | (b & 0x3f);
  }
  const valid = v >= (n === 3 ? 0x800 : n === 4 ? 0x10000 : 0) && v <= 0x10ffff && v >> 11 !== 0x1b;
  return (valid ? v << 3 : NO_CHARACTER) | n;
}

/**
 * A lenient reader of names, one per module that walks them (a module-level instance): {@link cp}
 * is a slot, not a returned pair, so the walks allocate nothing; they are synchronous, so nothing
 * runs between a read and its use.
 */
export class PercentCursor {
  /** The code point the last {@link step} read. */
  cp = 0;

  /**
   * Reads one character of `text` at `i` (before `end`) into {@link cp} and returns where the
   * next starts: a surrogate pair is one code point. With `decode`, as the lenient parsers read a
   * name: `+` is a space, a `%XX` escape (a UTF-8 sequence of them) its character, escapes that
   * are no character U+FFFD, and a `%` without two hex digits itself.
   */
  step(text: string, i: number, end: number, decode: boolean): number {
    const c = text.charCodeAt(i);
    if (decode) {
      if (c === 0x2b) {
        this.cp = 0x20;
        return i + 1;
      }
      if (c === 0x25) {
        const r = escapeAt(text, i, end);
        if (r !== 0) {
          this.cp = r < 0 ? 0xfffd : r >> 3;
          return i + 3 * (r & 7);
        }
      }
    }
    this.cp = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        this.cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        return i + 2;
      }
    }
    return i + 1;
  }
}

/** The byte of the `%XX` escape at `i` of `s` (ending before `end`), or -1. */
export function escapeByte(s: string, i: number, end: number): number {
  if (i + 2 >= end || s.charCodeAt(i) !== 0x25) return -1;
  const hi = hexDigit(s.charCodeAt(i + 1));
  const lo = hexDigit(s.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

/** A hex digit's value (either case), or -1. */
export function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = (c | 0x20) - 0x57;
  return l >= 10 && l <= 15 ? l : -1;
}

/**
 * The first byte of the code point `c` in UTF-8, as two upper-case hex digits: what an escape of
 * that character starts with (`leadByte(0x67)` is `'67'`, `leadByte(0x17f)` is `'C5'`).
 */
export function leadByte(c: number): string {
  const b =
    c < 0x80 ? c : c < 0x800 ? 0xc0 | (c >> 6) : c < 0x10000 ? 0xe0 | (c >> 12) : 0xf0 | (c >> 18);
  return b.toString(16).toUpperCase().padStart(2, '0');
}
