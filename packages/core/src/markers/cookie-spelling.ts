/**
 * Every spelling of a cookie name that a reader behind a gateway takes for that name (GW-02).
 * graylane reads only the exact name (CK-10); where it removes a marker the client must not set,
 * an app in another language must not find one either. Each shape below was checked against the
 * reader named (php-cli 8.2's `$_COOKIE` through `php -S`, the others from their source):
 *
 * - the name without what readers trim around it: HTAB, LF, VT, FF, CR, SP (PHP's `isspace`
 *   before a name; Go, Tomcat and ASP.NET Core trim SP and HTAB), and U+001C–U+001F, U+0085,
 *   U+00A0 (Python's `str.strip()` in Django's `parse_cookie`, on Latin-1 header text; JS
 *   `trim()` in the `cookie` package before 0.7: `\xa0gray`);
 * - any ASCII letter case (nginx's `$cookie_gray`, ASP.NET Core's `OrdinalIgnoreCase`), and `ſ`
 *   for `s`, `ı` for `i` (what `OrdinalIgnoreCase` upper-cases to `S`, `I`);
 * - PHP's `$_COOKIE` (`php_register_variable_ex`): `gray[…]…` is an array under `gray` when a `]`
 *   follows the `[` (`gray[0]`, `gray[]`, `gray[x]y`), and before the first `[` a ` ` or `.`
 *   reads as `_` (a `[` no `]` follows too): `..Host-gray` is `__Host-gray` to PHP before its
 *   CVE-2022-31629 fix (7.4.31, 8.0.24, 8.1.11), which drops such names;
 * - percent-decoded (`+` as a space, a `%XX` its byte, UTF-8 sequences their character), then
 *   read as above: PHP before 7.4.11 (CVE-2020-7070), Rack before 2.1.4 / 2.2.3 (CVE-2020-8184)
 *   and ASP.NET Core 2.x decode cookie names (`gr%61y`, `%20gray`, old PHP's `gray%00x`).
 *
 * Not spellings: `grayx`, `xgray`, `gray_uid`, `gray.x` (PHP's `gray_x`), `gray[` (`gray_`),
 * `[gray]` (PHP drops an empty name), `gray]`, fullwidth letters (no reader applies NFKC).
 */

import { leadByte, PercentCursor } from './percent.js';

/** This module's reader of escapes (`percent.ts`). */
const cursor = /* @__PURE__ */ new PercentCursor();

const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const UNDERSCORE = 0x5f;
const SPACE = 0x20;
const DOT = 0x2e;
const NUL = 0;
const LONG_S = 0x017f; // ſ
/** A run of what decodes to a space: ` `, `+` and `%20` (sticky; matches the empty run too). */
const SPACES = /(?: |\+|%20)*/y;
const DOTLESS_I = 0x0131; // ı

/** What some reader trims around a cookie name (see the file's comment). */
export function isNameSpace(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c === 0x85 || c === 0xa0;
}

/** A code point as names are compared: ASCII letters lower-cased, `ſ` as `s`, `ı` as `i`. */
export function fold(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c + 0x20;
  return c === LONG_S ? 0x73 : c === DOTLESS_I ? 0x69 : c;
}

/**
 * True when `text[i, end)` is exactly `name` (compared folded), read with or without decoding.
 * Stops at the first unit that differs. Without decoding, text and name are read unit by unit:
 * the folds touch no surrogate, so a surrogate pair matches exactly itself either way.
 */
function whole(text: string, i: number, end: number, name: string, decode: boolean): boolean {
  for (let k = 0; k < name.length;) {
    if (i >= end) return false;
    let c: number;
    let want: number;
    if (decode) {
      i = cursor.step(text, i, end, true);
      c = cursor.cp;
      want = name.codePointAt(k) as number;
      k += want > 0xffff ? 2 : 1;
    } else {
      c = text.charCodeAt(i++);
      want = name.charCodeAt(k++);
    }
    if (fold(c) !== fold(want)) return false;
  }
  return i === end;
}

/**
 * True when PHP files the key `text[i, end)` (read with or without decoding) under `name`,
 * compared folded: leading spaces skipped, ` ` and `.` as `_`, an array's root ending at a `[`
 * a `]` follows, a `[` no `]` follows as `_` (and every later one), the key ending at a NUL.
 */
function phpRoot(text: string, i: number, end: number, name: string, decode: boolean): boolean {
  while (i < end) {
    const next = decode ? cursor.step(text, i, end, true) : i + 1;
    if ((decode ? cursor.cp : text.charCodeAt(i)) !== SPACE) break;
    i = next;
  }
  let open = false; // a `[` no `]` follows was read: every later `[` is `_` too
  for (let k = 0; ;) {
    if (i >= end) return k === name.length;
    let c: number;
    if (decode) {
      i = cursor.step(text, i, end, true);
      c = cursor.cp;
    } else c = text.charCodeAt(i++);
    if (c === NUL) return k === name.length;
    if (c === OPEN && !open) {
      // The first `[`: an array's root ends here (none before it), or no `]` follows and it is `_`.
      if (k === 0 || closes(text, i, end, decode)) return k > 0 && k === name.length;
      open = true;
    }
    if (k === name.length) return false;
    if (c === SPACE || c === DOT || c === OPEN) c = UNDERSCORE;
    let want: number;
    if (decode) {
      want = name.codePointAt(k) as number;
      k += want > 0xffff ? 2 : 1;
    } else want = name.charCodeAt(k++);
    if (fold(c) !== fold(want)) return false;
  }
}

/** True when a `]` comes at or after `i`, before `end` or a NUL. */
function closes(text: string, i: number, end: number, decode: boolean): boolean {
  while (i < end) {
    let c: number;
    if (decode) {
      i = cursor.step(text, i, end, true);
      c = cursor.cp;
    } else c = text.charCodeAt(i++);
    if (c === CLOSE) return true;
    if (c === NUL) return false;
  }
  return false;
}

/**
 * @internal The first of `names` the cookie name `text[start, end)` (the text before a pair's
 * first `=`, untrimmed) spells to some reader (see the file's comment), or undefined. Linear in
 * the name, trimmed once for every name; a name whose first character rules a marker name out
 * costs one compare for it.
 *
 * @example
 * ```ts
 * spelledName('gray[0]', 0, 7, ['gray']); // 'gray': PHP's $_COOKIE['gray'] is an array
 * spelledName('gr%61y', 0, 6, ['gray']); // 'gray': Rack < 2.2.3 and PHP < 7.4.11 decode names
 * spelledName('gray_uid', 0, 8, ['gray']); // undefined
 * ```
 */
export function spelledName(
  text: string,
  start: number,
  end: number,
  names: readonly string[],
): string | undefined {
  while (start < end && isNameSpace(text.charCodeAt(start))) start++;
  while (end > start && isNameSpace(text.charCodeAt(end - 1))) end--;
  if (start === end) return undefined;
  // Read as written, the first character stands for itself (`ſ` / `ı` folded), or for `_`
  // where PHP reads `.` as one: most names rule every marker name out there.
  const c = text.charCodeAt(start);
  const first = fold(c);
  // Decoded, the name starts with `head`, or with `past` past the spaces PHP skips:
  // worked out once per name, and only when it has an escape (AMP-01: a header of thousands of
  // `%E0%A4%A` names costs one short decode each, not one per marker name and reader).
  // -1: not worked out yet; 0: no escape; 1: `head` and `past` hold the decoded heads.
  let decoded = -1;
  let head = 0;
  let past = 0;
  let pastAt = start; // where `past` starts: PHP's key, its leading spaces skipped once for all names
  for (let x = 0; x < names.length; x++) {
    const name = names[x] as string;
    if (name === '') continue;
    const want = fold(name.charCodeAt(0));
    // As written, the first character is the name's (any case), or `.` for a `_` (PHP).
    if (
      (first === want || (want === UNDERSCORE && c === DOT)) &&
      (whole(text, start, end, name, false) || phpRoot(text, start, end, name, false))
    )
      return name;
    if (decoded === -1) {
      decoded = hasEscapes(text, start, end) ? 1 : 0;
      if (decoded === 1) {
        const i = cursor.step(text, start, end, true);
        head = cursor.cp;
        past = head;
        if (head === SPACE) {
          // The spaces PHP skips, in one native pass (AMP-03: a 12 KiB name of `+` or `%20`).
          SPACES.lastIndex = i;
          SPACES.test(text);
          pastAt = Math.min(SPACES.lastIndex, end);
          if (pastAt < end) {
            cursor.step(text, pastAt, end, true);
            past = cursor.cp;
          }
        }
      }
    }
    // Decoded heads are code points: compared with the name's first code point, not its unit.
    const cp = want >= 0xd800 && want <= 0xdbff ? fold(name.codePointAt(0) as number) : want;
    if (
      decoded === 1 &&
      (fold(head) === cp || fold(past) === cp || (cp === UNDERSCORE && past === DOT)) &&
      (whole(text, start, end, name, true) || phpRoot(text, pastAt, end, name, true))
    )
      return name;
  }
  return undefined;
}

/** True when `text[start, end)` holds a `%` or `+` (so decoding could change it). */
function hasEscapes(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 || c === 0x2b) return true;
  }
  return false;
}

/**
 * What the fast path searches a `Cookie` header for ({@link mayHoldCookie} in `cookie.ts`): every
 * spelling of `name` holds its anchor — a run of it with no `_` (PHP's mapping targets `_` only),
 * the whole name when it has none — in which each character is itself in some letter case, an
 * escape, or `ſ` / `ı`. So a header holds a spelling only if it holds the anchor as written (any
 * case), an escape of an anchor character (`%67`, `%47`; the first byte of a longer sequence),
 * or an `ſ` / `ı` where the anchor has an `s` / `i`. `anchor` is the run to use when the caller
 * knows a better one (another marker name inside this one: `gray` in `__Host-gray`).
 */
export interface CookieProbe {
  /** The anchor as a case-insensitive pattern (` ` also as `+`, `_` as what PHP reads as one). */
  readonly literal: string;
  /** The escapes' bytes (upper-case hex pairs) that could spell an anchor character. */
  readonly escapes: readonly string[];
  /** True when the anchor has an `s` or `i` (spelled by a raw `ſ` or `ı`). */
  readonly rare: boolean;
}

/** @internal The {@link CookieProbe} of `name`, anchored at `anchor` (a run of it). */
export function cookieProbe(name: string, anchor = anchorOf(name)): CookieProbe {
  let literal = '';
  const escapes = new Set<string>();
  let rare = false;
  for (const ch of anchor) {
    const c = ch.codePointAt(0) as number;
    const f = fold(c);
    escapes.add(leadByte(c));
    if (f >= 0x61 && f <= 0x7a) escapes.add(leadByte(f)).add(leadByte(f ^ 0x20));
    if (f === 0x73 || f === 0x69) {
      rare = true;
      escapes.add(f === 0x73 ? 'C5' : 'C4');
    }
    let unit = ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    if (c === UNDERSCORE) {
      unit = '[_ .[+]';
      for (const b of ['20', '2E', '5B']) escapes.add(b);
    } else if (c === SPACE) unit = '[ +]';
    // `ſ` / `ı` in the name are `s` / `i` to the readers (and to `fold`): any of the three.
    else if (c === LONG_S) unit = '[sſ]';
    else if (c === DOTLESS_I) unit = '[iı]';
    literal += unit;
  }
  return { literal, escapes: [...escapes], rare };
}

/** The longest run of `name` without `_`, or `name` itself when it is all `_`. */
function anchorOf(name: string): string {
  let best = '';
  for (const run of name.split('_')) if (run.length > best.length) best = run;
  return best === '' ? name : best;
}
