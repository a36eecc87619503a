/**
 * Every spelling of a query key that a next hop could read as a marker's name (GW-01/02). Reading
 * stays exact (QS-06: graylane's readers do not honour `GRAY`), but where graylane removes a
 * marker the client must not set, a hop behind it that reads keys another way must not find one
 * either. What counts, each checked against the parser named (qs 6, node:querystring,
 * URLSearchParams, fast-querystring as fastify uses it, hono, Java's `equalsIgnoreCase`, PHP's
 * `$_GET` and `parse_str`, Rack 2's `parse_nested_query`):
 *
 * - the key, percent-decoded (leniently: a bad escape is a character of its own, as every one of
 *   those parsers keeps it, and never spells a letter), `+` read as a space;
 * - compared without case: ASCII letters, and the characters whose case mapping is ASCII
 *   letters — `ſ` (upper `S`), `ı` (upper `I`), `İ` (Java's lower `i`), `K` (Kelvin, lower `k`),
 *   and the ones JS and Java upper-case to several (`ß` → `SS`, `ﬁ` → `FI`, …): a hop that
 *   compares `toUpperCase()`d or `toLowerCase()`d keys, `equalsIgnoreCase`, ASP.NET's
 *   case-insensitive query collection, nginx's `$arg_name` (ASCII, on the raw key), PHP's
 *   `array_change_key_case($_GET)`;
 * - the root qs files a key under (express 4's `req.query`, a qs-based fastify parser): `gray[]`,
 *   `gray[0]` (an array: `${req.query.gray}` is `beta`), `gray[x]`, `gray[`, `[gray]…` (the
 *   string `beta`), and with qs's `allowDots` `gray.0` and `.gray`;
 * - Rack 2's root (`normalize_params` matches `\A[\[\]]*([^\[\]]+)\]*`: brackets before the
 *   name and `]` after it are skipped): `]gray`, `[gray`, `[[gray]]`, `gray]`, `gray]x`;
 * - PHP's (`php_default_treat_data`, `php_register_variable_ex`): leading spaces are skipped
 *   (`+gray`, `%20gray`, `++gray`; only U+0020), the key ends at a NUL (`gray%00x`), `gray[…]…`
 *   is an array under `gray` when a `]` follows the `[`, and a ` ` or `.` before the first `[`,
 *   or a `[` no `]` follows, reads as `_` (name `a_b`: `a.b`, `a+b`, `a[b`).
 *
 * Each parser's shapes are matched as that parser reads them, not mixed (`+[gray]` is no
 * spelling: PHP's name there is empty, Rack's ` [gray]`). Not spellings: other leading or
 * trailing whitespace (`%09gray`, `gray+`: PHP reads `gray_`), a NUL before the name
 * (`%00gray`: PHP's name is empty), fullwidth letters (none applies NFKC), `a[gray]`, `a.gray`.
 */

import { leadByte, PercentCursor } from './percent.js';

/** This module's reader of escapes (`percent.ts`). */
const cursor = /* @__PURE__ */ new PercentCursor();

/** Code points whose upper- or lower-case form (JS, Java) is ASCII letters only, and those. */
const ASCII_FOLDS: ReadonlyMap<number, string> = new Map([
  [0x00df, 'ss'], // ß
  [0x0130, 'i'], // İ
  [0x0131, 'i'], // ı
  [0x017f, 's'], // ſ
  [0x212a, 'k'], // K (Kelvin)
  [0xfb00, 'ff'],
  [0xfb01, 'fi'],
  [0xfb02, 'fl'],
  [0xfb03, 'ffi'],
  [0xfb04, 'ffl'],
  [0xfb05, 'st'],
  [0xfb06, 'st'],
]);

const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const DOT = 0x2e;
const SPACE = 0x20;
const UNDERSCORE = 0x5f;
const NUL = 0;

/** `name` folded as keys are: ASCII letters lower-cased, {@link ASCII_FOLDS} expanded. */
function fold(name: string): string {
  let out = '';
  for (let i = 0; i < name.length;) {
    i = cursor.step(name, i, name.length, false);
    out +=
      cursor.cp >= 0x41 && cursor.cp <= 0x5a
        ? String.fromCharCode(cursor.cp + 0x20)
        : (ASCII_FOLDS.get(cursor.cp) ?? String.fromCodePoint(cursor.cp));
  }
  return out;
}

/** The last name folded (a process sees one or two names: no map keyed by input). */
let lastName = '';
let lastFolded = '';
function folded(name: string): string {
  if (name !== lastName) {
    lastFolded = fold(name);
    lastName = name;
  }
  return lastFolded;
}

/**
 * Where the folded name `f` ends when `text[i, end)` starts with a spelling of it, else -1.
 * Stops at the first character that differs: a hostile key costs a few steps (AMP-01). With
 * `php`, the key's characters are first read as PHP files them: ` ` and `.` as `_`, a `[` no `]`
 * follows as `_` (a `[` one follows ends PHP's name, so it spells nothing), a NUL ends the key.
 */
function matchName(
  text: string,
  i: number,
  end: number,
  f: string,
  decode: boolean,
  php = false,
): number {
  let k = 0;
  let open = false; // php: a `[` no `]` follows was read, so every later one is `_` too
  while (k < f.length) {
    if (i >= end) return -1;
    const at = i;
    i = cursor.step(text, i, end, decode);
    let c = cursor.cp >= 0x41 && cursor.cp <= 0x5a ? cursor.cp + 0x20 : cursor.cp;
    if (php && f.charCodeAt(k) === UNDERSCORE) {
      if (c === SPACE || c === DOT) c = UNDERSCORE;
      else if (c === OPEN) {
        // A `[` first, or one a `]` follows, ends PHP's name there.
        if (k === 0 || (!open && closes(text, at, end, decode))) return -1;
        open = true;
        c = UNDERSCORE;
      }
    } else if (php && (c === SPACE || c === DOT || c === OPEN)) return -1;
    const expansion = c < 0x80 ? undefined : ASCII_FOLDS.get(c);
    if (expansion !== undefined) {
      if (!f.startsWith(expansion, k)) return -1;
      k += expansion.length;
    } else {
      if (f.codePointAt(k) !== c) return -1;
      k += c > 0xffff ? 2 : 1;
    }
  }
  return i;
}

/** True when a `]` follows the `[` at `i` before the key or a NUL ends it (PHP's array test). */
function closes(text: string, i: number, end: number, decode: boolean): boolean {
  i = cursor.step(text, i, end, decode);
  while (i < end) {
    i = cursor.step(text, i, end, decode);
    if (cursor.cp === CLOSE) return true;
    if (cursor.cp === NUL) return false;
  }
  return false;
}

/** The code point at `i` (read into the cursor's `cp`), or -1 at the end. */
function peek(text: string, i: number, end: number, decode: boolean): number {
  if (i >= end) return -1;
  cursor.step(text, i, end, decode);
  return cursor.cp;
}

/**
 * @internal True when the key `text[start, end)` is a spelling of `name` some next hop reads as
 * `name` (see the file's comment). `decode`: the key as it is on the wire (percent-escapes, `+`);
 * without it, a key a parser already decoded (`req.query`'s). Linear in the key, at most a few
 * steps past the name's length; a key whose first character rules it out costs one compare.
 *
 * @example
 * ```ts
 * spellsKey('GRAY', 0, 4, 'gray', true); // true
 * spellsKey('%5Bgray%5D', 0, 10, 'gray', true); // true: qs reads it as `gray`
 * spellsKey('+gray', 0, 5, 'gray', true); // true: PHP skips the leading space
 * spellsKey('grayx', 0, 5, 'gray', true); // false
 * ```
 */
export function spellsKey(
  text: string,
  start: number,
  end: number,
  name: string,
  decode: boolean,
): boolean {
  if (end <= start || name === '') return false;
  const f = folded(name);
  // Most keys differ from the name in their first character: an ASCII one other than `%`, `[`,
  // `]`, `.` and a space (`+`) stands for itself, so one compare settles them.
  const c = text.charCodeAt(start);
  if (c < 0x80 && c !== 0x25 && c !== OPEN && c !== CLOSE && c !== DOT && c !== SPACE) {
    const lower = c >= 0x41 && c <= 0x5a ? c + 0x20 : decode && c === 0x2b ? SPACE : c;
    if (lower !== f.charCodeAt(0) && lower !== SPACE) return false;
  }
  // PHP skips leading spaces; its name then ends at a NUL or an array's `[`.
  let from = start;
  while (peek(text, from, end, decode) === SPACE) from = cursor.step(text, from, end, decode);
  if (from > start || f.includes('_')) {
    const at = matchName(text, from, end, f, decode, true);
    if (at !== -1) {
      const next = peek(text, at, end, decode);
      if (next === -1 || next === NUL || (next === OPEN && closes(text, at, end, decode)))
        return true;
    }
    if (from > start) return false;
  }
  const at = matchName(text, start, end, f, decode);
  if (at !== -1) {
    if (at === end) return true;
    const next = peek(text, at, end, decode);
    // qs, Rack 3 and PHP: `gray[…`; PHP: `gray%00…`; Rack 2: `gray]…`.
    if (next === OPEN || next === NUL) return true;
    if (next === CLOSE) return rackRoot(text, at, end, decode);
    // qs `allowDots`: `gray.x` is `gray[x]`; `gray.`, `gray..x` and `gray.[x]` keep the dot.
    if (next === DOT) {
      const after = peek(text, cursor.step(text, at, end, decode), end, decode);
      if (after !== -1 && after !== DOT && after !== OPEN) return true;
    }
  }
  const first = peek(text, start, end, decode);
  if (first !== OPEN && first !== CLOSE && first !== DOT) return false;
  // qs `allowDots`: `.gray` is `[gray]` (`.gray.x`, `.gray[x]`). Rack 2 skips every bracket
  // before the name (`]gray`, `[[gray`), and qs reads `[gray]…`.
  const one = cursor.step(text, start, end, decode);
  let i = one;
  if (first !== DOT) {
    let b = peek(text, i, end, decode);
    while (b === OPEN || b === CLOSE) {
      i = cursor.step(text, i, end, decode);
      b = peek(text, i, end, decode);
    }
  }
  const inner = matchName(text, i, end, f, decode);
  if (inner === -1) return false;
  const next = peek(text, inner, end, decode);
  const root = next === -1 || next === OPEN || next === CLOSE;
  if (first === DOT) return root || next === DOT;
  if (next === CLOSE && first === OPEN && i === one) return true;
  return root && rackRoot(text, inner, end, decode);
}

/**
 * Rack 2 past the name at `i` (where a `[`, a `]` or the key's end follows it): the name is the
 * root unless all that follows its `]`s is a lone `[` (`after == "["` files the whole key:
 * `gray][`, `[gray[`).
 */
function rackRoot(text: string, i: number, end: number, decode: boolean): boolean {
  while (peek(text, i, end, decode) === CLOSE) i = cursor.step(text, i, end, decode);
  return i >= end || cursor.cp !== OPEN || cursor.step(text, i, end, decode) < end;
}

/** The letters a character outside ASCII folds to ({@link ASCII_FOLDS}). */
const FOLDED_LETTERS = /[sikflt]/;
const OUTSIDE_ASCII = /[\u0080-\uffff]/g;

/** The last probe built (a process sees one or two names). */
let probeName: string | undefined;
/** The name in any ASCII case, or undefined when only escapes can spell it. */
let probe: RegExp | undefined;
/** A `%XX` escape of a byte that starts some character of a spelling of the name. */
let escapeProbe: RegExp = /%/g;
/** Whether a raw character outside ASCII could spell a letter of the name. */
let probeWide = true;

/**
 * @internal True when `text` from `from` on could hold a spelling of `name` as a key
 * ({@link spellsKey}): the name in any ASCII case (a space in it as a `+` too, a `_` as any
 * character PHP reads as one: ` `, `+`, `.`, `[`), an escape of a byte that starts one of its
 * characters in UTF-8 (`%67`, `%47` for `g`; `%5F`, `%20`, `%2E`, `%5B` for `_`; the first byte
 * of a character outside ASCII that folds to one of its letters: `%C5` of `ſ`), or, for a name
 * with a letter some character outside ASCII folds to (`s`: `ſ`), such a character raw. A key
 * not written out whole has one of its characters escaped or folded, so every other shape
 * (`+gray`, `]gray`, `gray[]`, `gr%61y`) is one of those. False means no key there needs a look:
 * the fast path for a query without a candidate costs two native searches (`gray` in a 900-byte
 * query: about 0.3 µs), and a query of escapes that spell nothing (`%ZZ`, `%20` in a value) is
 * not judged key by key (AMP-01).
 *
 * @example
 * ```ts
 * mayHoldKey('/a?x=1&Gray=beta', 'gray', 3); // true
 * mayHoldKey('/a?x=1&gr%61y=beta', 'gray', 3); // true
 * mayHoldKey('/a?x=1&y=a%20b', 'gray', 3); // false
 * ```
 */
export function mayHoldKey(text: string, name: string, from = 0): boolean {
  if (name !== probeName) {
    const f = folded(name);
    const ascii = !/[\u0080-\uffff]/.test(f);
    // A space in the name is a `+` on the wire too; PHP reads ` `, `.` and `[` as `_`.
    const literal = f
      .replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
      .replace(/ /g, '[ +]')
      .replace(/_/g, '[_ +.[]');
    probe = ascii ? new RegExp(literal, 'gi') : undefined;
    probeWide = !ascii || FOLDED_LETTERS.test(f);
    escapeProbe = new RegExp(`%(?:${[...escapeBytes(f, probeWide)].join('|')})`, 'gi');
    probeName = name;
  }
  escapeProbe.lastIndex = from;
  if (escapeProbe.test(text)) return true;
  if (probe !== undefined) {
    probe.lastIndex = from;
    if (probe.test(text)) return true;
  }
  if (!probeWide) return false;
  OUTSIDE_ASCII.lastIndex = from;
  return OUTSIDE_ASCII.test(text);
}

/**
 * The bytes (two upper-case hex digits) whose escape could start a character of a spelling of the
 * folded name `f`: each character's first UTF-8 byte, a letter's in either case, for `_` what
 * PHP reads as one, and with `wide` the first bytes of {@link ASCII_FOLDS}' characters.
 */
function escapeBytes(f: string, wide: boolean): Set<string> {
  const bytes = new Set<string>();
  const add = (c: number): void => void bytes.add(leadByte(c));
  for (const ch of f) {
    const c = ch.codePointAt(0) as number;
    add(c);
    if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) add(c ^ 0x20);
    if (c === UNDERSCORE) for (const p of [SPACE, DOT, OPEN]) add(p);
  }
  if (wide) for (const c of ASCII_FOLDS.keys()) add(c);
  return bytes;
}
