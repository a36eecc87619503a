/**
 * Percent-escapes read in place, one code point at a time, with nothing allocated (AMP-01): the
 * one UTF-8 reader behind the strict decoder (`decode.ts`: a bad escape is no value) and the
 * lenient cursor of the spelling checks (`cookie-spelling.ts`, `key-spelling.ts`: a bad escape
 * is a character of its own, as the parsers they model keep it).
 */

/**
 * A reader of percent-escapes in place. One per module that walks text (a module-level
 * instance): {@link cp} is a slot, not a returned pair, so the walks allocate nothing; they are
 * synchronous, so nothing runs between a read and its use.
 */
export class PercentCursor {
  /**
   * The code point the last {@link escapeAt} or {@link step} read; -1 after {@link escapeAt}
   * when the escapes there are no character.
   */
  cp = 0;

  /**
   * Reads the UTF-8 sequence of `%XX` escapes at `i` of `s` (before `end`) into {@link cp} and
   * returns how many escapes it spans; 0 when `i` holds no `%XX`. A byte no sequence starts
   * with, or a sequence cut short or broken, spans its first escape with `cp` -1; an overlong
   * form, a surrogate or a code point past U+10FFFF (RFC 3629) spans the whole sequence with
   * `cp` -1.
   *
   * @example
   * ```ts
   * const cursor = new PercentCursor();
   * cursor.escapeAt('%C3%A9', 0, 6); // 2, cursor.cp === 0xe9
   * cursor.escapeAt('%E0%A4%A', 0, 8); // 1, cursor.cp === -1
   * ```
   */
  escapeAt(s: string, i: number, end: number): number {
    const lead = escapeByte(s, i, end);
    if (lead < 0) return 0;
    if (lead < 0x80) {
      this.cp = lead;
      return 1;
    }
    const n = lead < 0xc2 || lead > 0xf4 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    this.cp = -1;
    if (n === 0) return 1;
    let v = lead & (0x7f >> n);
    for (let k = 1; k < n; k++) {
      const b = escapeByte(s, i + 3 * k, end);
      if ((b & 0xc0) !== 0x80) return 1;
      v = (v << 6) | (b & 0x3f);
    }
    if (v >= (n === 3 ? 0x800 : n === 4 ? 0x10000 : 0) && v <= 0x10ffff && v >> 11 !== 0x1b)
      this.cp = v;
    return n;
  }

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
        const n = this.escapeAt(text, i, end);
        if (n !== 0) {
          if (this.cp === -1) this.cp = 0xfffd;
          return i + 3 * n;
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
