import { MAX_COOKIE_HEADER_BYTES, MAX_COOKIE_PAIRS } from '../limits.js';
import { cookieProbe, fold, spelledName } from './cookie-spelling.js';
import { safeDecode } from './decode.js';
import { trimOws } from './parse.js';
import { READ_ABSENT, READ_AMBIGUOUS, READ_TOO_LONG, type KeyRead } from './read.js';

/**
 * Reads one cookie from a `Cookie` header. Bounded: the header is capped at 16 KiB before any
 * scan and at 180 pairs during it, each pair is visited once (linear, never a re-scan per pair),
 * and only pairs whose name equals `name` are decoded, without exceptions (AMP-01). Pairs end
 * at `;` or `,`, so lines joined with `; ` (Node, Deno, Bun) or `, ` (workerd) read alike (CK-08). The same name twice with different values is
 * ambiguous (CK-02); one DQUOTE pair is stripped (CK-04); undecodable escapes yield the raw text,
 * which then fails validation (CK-03).
 *
 * @example
 * ```ts
 * readCookie('a=1; gray=beta', 'gray'); // { kind: 'value', value: 'beta' }
 * ```
 */
export function readCookie(header: string | readonly string[] | undefined, name: string): KeyRead {
  return readCookies(header, [name])[0] as KeyRead;
}

/**
 * {@link readCookie} for a few names in one pass (the marker cookie's `__Host-` and plain names):
 * one {@link KeyRead} per name, in order.
 *
 * @example
 * ```ts
 * readCookies('gray=beta; a=1', ['__Host-gray', 'gray']); // [{ kind: 'absent' }, { kind: 'value', value: 'beta' }]
 * ```
 */
export function readCookies(
  header: string | readonly string[] | undefined,
  names: readonly string[],
): KeyRead[] {
  const text = cookieText(header);
  if (text === undefined) return names.map(() => READ_ABSENT);
  if (text.length > MAX_COOKIE_HEADER_BYTES) return names.map(() => READ_TOO_LONG);
  const found: (string | undefined)[] = names.map(() => undefined);
  const ambiguous: boolean[] = names.map(() => false);
  // Where the found value's raw text is: a repeat of the same raw text is the same value, so it
  // is compared in place, not sliced and decoded again (AMP-01: thousands of `gray=%ZZ` pairs).
  const rawStart: number[] = names.map(() => -1);
  const rawEnd: number[] = names.map(() => -1);
  scanCookies(text, (nameStart, nameEnd, valueStart, valueEnd) => {
    for (let k = 0; k < names.length; k++) {
      if (ambiguous[k] || !sameName(text, nameStart, nameEnd, names[k] as string)) continue;
      if (
        found[k] !== undefined &&
        sameText(text, rawStart[k] as number, rawEnd[k] as number, valueStart, valueEnd)
      )
        continue;
      const value = cookieValue(text.slice(valueStart, valueEnd));
      if (found[k] !== undefined && found[k] !== value) ambiguous[k] = true;
      found[k] = value;
      rawStart[k] = valueStart;
      rawEnd[k] = valueEnd;
    }
    return true;
  });
  return names.map((_, k) => {
    if (ambiguous[k]) return READ_AMBIGUOUS;
    const value = found[k];
    return value === undefined ? READ_ABSENT : { kind: 'value', value };
  });
}

/** Every cookie pair of a header, parsed once: name → raw values in order (a `Map`, so `__proto__` is just a name). */
export type CookiePairs = ReadonlyMap<string, readonly string[]>;

/** The names a parse keeps ({@link parseCookiePairs}), and their lengths, checked before a slice. */
export interface CookieNames {
  readonly names: ReadonlySet<string>;
  readonly lengths: ReadonlySet<number>;
}

/** A {@link CookieNames} of `names`. */
export function cookieNames(names: Iterable<string>): CookieNames {
  const set = new Set(names);
  return { names: set, lengths: new Set([...set].map((name) => name.length)) };
}

/**
 * Parses a `Cookie` header once into its pairs (AMP-02: one parse per request, whatever the
 * number of lookups). `too_long` over the 16 KiB cap, as {@link readCookie}. With `only`, the
 * pairs of other names are passed over without a copy (AMP-03: a hostile header's 180 pairs are
 * not each sliced and filed); a name of `only` reads exactly as without it.
 */
export function parseCookiePairs(
  header: string | readonly string[] | undefined,
  only?: CookieNames,
): CookiePairs | 'too_long' {
  const pairs = new Map<string, string[]>();
  const text = cookieText(header);
  if (text === undefined) return pairs;
  if (text.length > MAX_COOKIE_HEADER_BYTES) return 'too_long';
  scanCookies(text, (nameStart, nameEnd, valueStart, valueEnd) => {
    // Trimmed in place: one string per name, not two.
    const start = owsStart(text, nameStart, nameEnd);
    const end = owsEnd(text, start, nameEnd);
    if (only !== undefined && !only.lengths.has(end - start)) return true;
    const name = text.slice(start, end);
    if (only !== undefined && !only.names.has(name)) return true;
    const value = text.slice(valueStart, valueEnd);
    const list = pairs.get(name);
    if (list) list.push(value);
    else pairs.set(name, [value]);
    return true;
  });
  return pairs;
}

/** The {@link KeyRead} for one name of parsed pairs: same rules as {@link readCookie}. */
export function cookieRead(pairs: CookiePairs | 'too_long', name: string): KeyRead {
  if (pairs === 'too_long') return READ_TOO_LONG;
  const raw = pairs.get(name);
  if (raw === undefined || raw.length === 0) return READ_ABSENT;
  const firstRaw = raw[0] as string;
  const first = cookieValue(firstRaw);
  for (let i = 1; i < raw.length; i++) {
    // Identical text decodes identically: only differing spellings are decoded (AMP-01).
    const r = raw[i] as string;
    if (r !== firstRaw && cookieValue(r) !== first) return READ_AMBIGUOUS;
  }
  return { kind: 'value', value: first };
}

/**
 * Returns the `Cookie` header without the pairs that spell one of `names` (graylane's own marker
 * cookies) to some reader, or undefined when nothing is left (GW-02). A pair spells `gray` when
 * some reader takes its name for `gray` (`cookie-spelling.ts`): any ASCII letter case (nginx's
 * `$cookie_gray`, ASP.NET Core), PHP's arrays (`gray[0]`), names decoded by older readers
 * (`gr%61y`), whitespace Python or PHP trims (`\xa0gray`). Pairs end at `;` or `,` (nginx and
 * ASP.NET split at both, CK-08). A `gray=` inside
 * another cookie's value (`returnTo={"path":"/p?gray=beta"}`) is that cookie's data and stays
 * (review 165 D3). What is kept stays byte for byte, separators too;
 * where a pair goes, its neighbours are joined with `; `. Every pair that could spell a name is
 * judged, past the readers' cap of 180 pairs too, in one linear pass (AMP-01, CK-11), up to 180
 * of them: a header with more (no browser keeps more than 180 cookies for a host) loses the 181st
 * and everything after it unjudged, so no spelling can hide there and one request costs at most
 * 180 judgements (AMP-03). A pair "could spell" a name when its name holds the name's letters in
 * any case, an escape of one, `ſ` or `ı` ({@link mayHoldCookie}): `gray_uid=1` and `GRAY[0]=1`
 * count; `sid=1`, `theme=gray` and the pieces of a list value (`cart=[{"c":"gray"},…]`) do not.
 *
 * @example
 * ```ts
 * removeCookies('a=1; GRAY=beta, b=2', ['gray']); // 'a=1; b=2'
 * removeCookies('gray[0]=beta; gray_uid=1', ['gray']); // 'gray_uid=1'
 * ```
 */
export function removeCookies(
  header: string | readonly string[] | undefined,
  names: readonly string[],
): string | undefined {
  const text = cookieText(header);
  return text === undefined ? undefined : stripCookies(text, names, []);
}

/**
 * @internal {@link removeCookies} on joined text, keeping the pairs whose name is exactly one of
 * `keep` (a marker this hop honours as it is) and, given `version`, whose value reads as it (the
 * same name past the readers' cap may say something else); `text` itself when nothing goes.
 *
 * Only a pair whose name holds a hit of the names' probe ({@link mayHoldCookie}: every spelling
 * holds one) is judged, at most `MAX_COOKIE_PAIRS` of them (see {@link removeCookies}); the pairs
 * between two such pairs are kept as one slice, found by the native search (AMP-01: a header of
 * thousands of `%E0%A4%A=x` pairs, or of `theme=gray`, costs one regex pass). Each character is
 * looked at a bounded number of times: the search runs forward once, a pair is bounded by a walk
 * back to the last pair judged and by separators remembered across pairs, and a kept run's ends
 * skip only OWS and separators.
 */
export function stripCookies(
  text: string,
  names: readonly string[],
  keep: readonly string[],
  version?: string,
): string | undefined {
  if (names.length === 0) return text;
  const probe = probeOf(names);
  const named = probe.named;
  const n = text.length;
  // The runs of kept pairs, joined with `; ` once at the end (a rope of concatenations cost
  // more where the header is read next than the join).
  let pieces: string[] | undefined;
  // The run of kept pairs not yet copied: from the first one's start to the last one's end, byte
  // for byte with the separators and empty pairs between them; `end` is -1 when there is none.
  let start = -1;
  let end = -1;
  // The pairs in `text[a, b)` (whole pairs, none cut) join the run, its OWS and separators off
  // both ends, the empty pairs inside it kept.
  const keepRun = (a: number, b: number): void => {
    while (a < b && isFiller(text.charCodeAt(a))) a++;
    while (b > a && isFiller(text.charCodeAt(b - 1))) b--;
    if (b <= a) return;
    if (end === -1) start = a;
    end = b;
  };
  let cut = false;
  let pos = 0; // where the first pair not yet looked at starts
  let judged = 0;
  // The next `;`, `,` and `=` at or after a hit or a pair's `=`, remembered (linear).
  let semi = -1;
  let comma = -1;
  let eqNext = -1;
  // The hit search first (native, fast over text without hits). A hit found outside a name (in
  // a value, a list's piece, a pair with no `=`) sends it on from the next piece holding a `=`:
  // the pieces before that one name nothing (`cart=[{"c":"gray"},…]`, AMP-03: 2,400 pieces
  // passed over in three native searches). Past `VALUE_HITS` such hits, the name search from
  // there on, which passes over those in the search itself.
  let byHits = true;
  let valueHits = 0;
  // Where the hit search goes on: a piece's start (≥ `pos`, or stale below it).
  let skipTo = 0;
  // The next `;` and `,` after the last hit's piece, remembered across those hits (linear).
  let semiAfter = -1;
  let commaAfter = -1;
  // Where the pair holding `at` starts: after the last separator before `at`, at or after `low`
  // (a piece's start). Searched for backwards (natively) only when the next one after `low` comes
  // before `at`, so the text between `low` and `at` is read once (a 16 KiB name: AMP-03).
  const startOf = (at: number, low: number): number => {
    if (semi !== Infinity && semi < low) semi = indexOrInfinity(text, ';', low);
    if (comma !== Infinity && comma < low) comma = indexOrInfinity(text, ',', low);
    const s = semi < at ? text.lastIndexOf(';', at) : -1;
    const c = comma < at ? text.lastIndexOf(',', at) : -1;
    return Math.max(low, s + 1, c + 1);
  };
  for (;;) {
    let eq: number;
    let pairStart: number;
    if (byHits) {
      let hitEnd: number;
      const from = Math.max(pos, skipTo);
      if (from === 0) hitEnd = firstHit(probe, text);
      else {
        probe.all.lastIndex = from;
        hitEnd = probe.all.test(text) ? probe.all.lastIndex : -1;
      }
      if (hitEnd === -1) break;
      // A character of the hit (its last; a hit holds no separator and no `=`): in a name when
      // no `=` comes before it in its pair and one comes after it.
      const at = hitEnd - 1;
      pairStart = startOf(at, from);
      if (eqNext !== Infinity && eqNext < pairStart) eqNext = indexOrInfinity(text, '=', pairStart);
      if (semi !== Infinity && semi < at) semi = indexOrInfinity(text, ';', at);
      if (comma !== Infinity && comma < at) comma = indexOrInfinity(text, ',', at);
      if (eqNext < at || !(eqNext < Math.min(semi, comma, n))) {
        if (valueHits++ === VALUE_HITS) {
          byHits = false;
          continue;
        }
        // The next name is in the piece of the first `=` after the hit's piece (none: nothing
        // left to judge). That piece starts after the last separator before its `=`, searched
        // for backwards only where one lies between the two pieces: each text read once.
        const pieceEnd = Math.min(semi, comma, n);
        const nextEq = pieceEnd < n ? text.indexOf('=', pieceEnd + 1) : -1;
        if (nextEq === -1) break;
        if (semiAfter !== Infinity && semiAfter <= pieceEnd)
          semiAfter = indexOrInfinity(text, ';', pieceEnd + 1);
        if (commaAfter !== Infinity && commaAfter <= pieceEnd)
          commaAfter = indexOrInfinity(text, ',', pieceEnd + 1);
        skipTo = Math.max(
          pieceEnd + 1,
          semiAfter < nextEq ? text.lastIndexOf(';', nextEq) + 1 : 0,
          commaAfter < nextEq ? text.lastIndexOf(',', nextEq) + 1 : 0,
        );
        continue;
      }
      eq = eqNext;
    } else {
      // From the separator before `pos`: the search takes it as the next pair's start.
      named.lastIndex = pos === 0 ? 0 : pos - 1;
      if (!named.test(text)) break;
      eq = named.lastIndex - 1;
      pairStart = startOf(eq, pos);
    }
    // The pair of that name ends at the next separator.
    if (semi !== Infinity && semi < eq) semi = indexOrInfinity(text, ';', eq);
    if (comma !== Infinity && comma < eq) comma = indexOrInfinity(text, ',', eq);
    const pairEnd = Math.min(semi, comma, n);
    // The pairs between the last one looked at and this one (none judged): kept.
    if (pairStart > pos) keepRun(pos, pairStart);
    // Past MAX_COOKIE_PAIRS names that could spell a marker, this pair and the rest go unjudged.
    if (judged++ === MAX_COOKIE_PAIRS) {
      cut = true;
      pos = n;
      break;
    }
    const from = owsStart(text, pairStart, eq);
    if (spells(text, from, eq, pairEnd, names, keep, version, probe.exact)) {
      cut = true;
      if (end !== -1) (pieces ??= []).push(text.slice(start, end));
      end = -1;
    } else keepRun(from, pairEnd);
    pos = pairEnd + 1;
    if (pos > n) break;
  }
  probe.lastText = undefined;
  if (!cut) return text;
  if (pos < n) keepRun(pos, n);
  if (end !== -1) (pieces ??= []).push(text.slice(start, end));
  return pieces === undefined ? undefined : pieces.join('; ');
}

/**
 * The hits outside a name after which {@link stripCookies} stops walking hits for the name search:
 * each costs a few native searches and a step in JavaScript, where the name search passes over
 * values holding hits (`a=gray; b=gray; …`) in native code.
 */
const VALUE_HITS = 16;

function indexOrInfinity(text: string, c: string, from: number): number {
  const at = text.indexOf(c, from);
  return at === -1 ? Infinity : at;
}

/** OWS or a pair separator: what a kept run of pairs never starts or ends with. */
function isFiller(c: number): boolean {
  return isOws(c) || isSeparator(c);
}

/**
 * True when the pair starting at `from` (its first `=` at `eq`, its end at `pairEnd`) is named
 * one of `names` under a spelling some reader takes for it ({@link spelledName}), except exactly
 * as one of `keep` with a value that reads as `version` when given (see {@link stripCookies}).
 * A name of plain characters (no escape, space, `.`, `[`, `]` or anything outside printable
 * ASCII: nothing a reader decodes, trims or maps) spells only the names it equals in length and,
 * ASCII letter case aside, character for character: settled by a compare (AMP-03: thousands of
 * `GRAY=1` or `gray_uid=1` pairs).
 */
function spells(
  text: string,
  from: number,
  eq: number,
  pairEnd: number,
  names: readonly string[],
  keep: readonly string[],
  version: string | undefined,
  exact: boolean,
): boolean {
  const to = owsEnd(text, from, eq);
  let n: string | undefined;
  if (exact)
    for (const m of names)
      if (to - from === m.length && text.startsWith(m, from)) {
        n = m;
        break;
      }
  if (n === undefined) {
    n = isPlain(text, from, to)
      ? foldedName(text, from, to, names)
      : spelledName(text, from, eq, names);
    if (n === undefined) return false;
    if (to - from !== n.length || !text.startsWith(n, from)) return true;
  }
  // Written exactly as a kept name: kept when its value reads as the version the reader read
  // (past the readers' 180 pairs the same name may say something else: review 52 D2).
  return !(
    keep.includes(n) &&
    (version === undefined || trimOws(cookieValue(text.slice(eq + 1, pairEnd))) === version)
  );
}

/** True when `text[from, to)` is printable ASCII other than `%`, `+`, `.`, `[`, `]` and space. */
function isPlain(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (
      c <= 0x20 ||
      c >= 0x7f ||
      c === 0x25 ||
      c === 0x2b ||
      c === 0x2e ||
      c === 0x5b ||
      c === 0x5d
    )
      return false;
  }
  return true;
}

/** The first of `names` that plain `text[from, to)` equals with ASCII letters folded, or undefined. */
function foldedName(
  text: string,
  from: number,
  to: number,
  names: readonly string[],
): string | undefined {
  const length = to - from;
  if (length === 0) return undefined;
  for (const n of names) {
    if (n.length !== length) continue;
    let k = 0;
    while (k < length && fold(text.charCodeAt(from + k)) === fold(n.charCodeAt(k))) k++;
    if (k === length) return n;
  }
  return undefined;
}

/**
 * @internal Where the first pair named `name` of `text` (a `Cookie` header, lines joined) starts,
 * or -1: the name after the start or a `;` or `,` and OWS, then OWS and `=`, as the readers match
 * it (`xgray=1`, `gray_uid=1`, `a=gray` are not named `gray`). One native search (compiled once
 * per name), linear: the name is found first, then what is around it is checked.
 */
export function namedCookie(text: string, name: string): number {
  let search = namedSearches.get(name);
  if (search === undefined) {
    if (namedSearches.size >= 64) namedSearches.clear();
    const literal = name.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    search = new RegExp(`${literal}(?=[ \\t]*=)(?<=(?:^|[;,])[ \\t]*${literal})`);
    namedSearches.set(name, search);
  }
  return text.search(search);
}

const namedSearches = new Map<string, RegExp>();

/**
 * @internal True when `text` could hold a spelling of one of `names` ({@link removeCookies}):
 * each name's anchor as written in any ASCII case, or an escape of one of its characters, or an
 * `ſ` / `ı` ({@link cookieProbe}). On every request with a `Cookie` header (the engine's fast
 * path), so native searches compiled once per list of names (issue 20): a name holding another
 * (`gray` in `__Host-gray`) is searched by that one, so the default names cost one
 * case-insensitive search for `gray`, and a `%` only when it escapes a letter of `gray` (`%20` in
 * another cookie's value sends nothing to the general path). A list of no names, or only `''`,
 * matches nothing.
 */
export function mayHoldCookie(text: string, names: readonly string[]): boolean {
  return firstHit(probeOf(names), text) !== -1;
}

/**
 * Where the first hit of `probe` in `text` ends (its last character's index + 1), or -1 when
 * there is none. A request asks this of its one `Cookie` header up to three times (the fast
 * path's check, the edit's, the removal's first search): the last header's answer is kept, so a
 * 16 KiB header is searched once (AMP-03). {@link stripCookies} forgets it when done; a header
 * with no hit stays until the next one is searched.
 */
function firstHit(probe: CompiledProbe, text: string): number {
  if (probe.lastText !== text) {
    probe.all.lastIndex = 0;
    probe.lastHit = probe.all.test(text) ? probe.all.lastIndex : -1;
    probe.lastText = text;
  }
  return probe.lastHit;
}

interface CompiledProbe {
  /**
   * Any hit, global: a name's anchor in any ASCII case, an escape of one of its bytes, `ſ` / `ı`
   * ({@link stripCookies} walks the hits).
   */
  readonly all: RegExp;
  /**
   * The names' search, global: a pair whose name holds a hit, from its start to its first `=` (a
   * hit in a value, or in a piece with no `=`, is passed over in the search itself).
   */
  readonly named: RegExp;
  /** True when each name, written exactly, spells no name before it (`a.b` does `a_b` to PHP). */
  readonly exact: boolean;
  /** The names compiled (a copy). */
  readonly names: readonly string[];
  /** The last text searched by {@link firstHit}, and where its first hit ends (-1: none). */
  lastText: string | undefined;
  lastHit: number;
}

/**
 * Each list of marker names' searches, with the names they were compiled for: a caller may change
 * its array between calls (`removeCookies`), so a hit is checked name by name (a few compares).
 */
const nameProbes = new WeakMap<readonly string[], CompiledProbe>();
/** The same by the names' text, for callers that pass a new array each time (`removeCookies`). */
const probesByText = new Map<string, CompiledProbe>();

function probeOf(names: readonly string[]): CompiledProbe {
  let probe = nameProbes.get(names);
  if (probe === undefined || !sameNames(probe.names, names)) {
    const key = JSON.stringify(names);
    probe = probesByText.get(key);
    if (probe === undefined) {
      if (probesByText.size >= 64) probesByText.clear();
      probe = compileProbe(names);
      probesByText.set(key, probe);
    }
    nameProbes.set(names, probe);
  }
  return probe;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compileProbe(names: readonly string[]): CompiledProbe {
  const alternatives: string[] = [];
  const escapes = new Set<string>();
  let rare = false;
  for (const n of names) {
    // An empty name spells nothing (no reader files a pair under it).
    if (n === '') continue;
    // Another name (without `_`) inside this one anchors it, and is searched on its own.
    const lower = asciiLower(n);
    const inside = (m: string) =>
      m !== '' && m.length < n.length && !m.includes('_') && lower.includes(asciiLower(m));
    if (names.some(inside)) continue;
    const p = cookieProbe(n);
    alternatives.push(p.literal);
    for (const e of p.escapes) escapes.add(e);
    rare ||= p.rare;
  }
  // The escapes as `%XX` of the bytes named (hex in any case: the search ignores case).
  if (escapes.size > 0) alternatives.push(`%(?:${[...escapes].join('|')})`);
  if (rare) alternatives.push('[\\u017f\\u0131]');
  // Non-Unicode `i` folds no character outside ASCII to one inside (`ſ` is not `s`): those are
  // the `rare` class.
  const source = alternatives.length > 0 ? alternatives.join('|') : '(?!)';
  const exact = names.every(
    (n, j) => spelledName(n, 0, n.length, names.slice(0, j).concat(n)) === n,
  );
  // At a pair's start (the text's, or a separator), a hit before the pair's first `=`; the
  // name then taken whole (a lookahead does not backtrack), and the `=`. Each pair's name is read
  // a bounded number of times, whatever it holds.
  const named = `(?:^|[;,])(?=[^=;,]*?(?:${source}))(?=([^=;,]*))\\1=`;
  return {
    all: new RegExp(source, 'gi'),
    named: new RegExp(named, 'gi'),
    exact,
    names: [...names],
    lastText: undefined,
    lastHit: -1,
  };
}

/** ASCII letters lower-cased, nothing else (one code unit each, as the anchors are taken). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x20));
}

/** Where `text[start, end)` starts without leading OWS. */
function owsStart(text: string, start: number, end: number): number {
  while (start < end && isOws(text.charCodeAt(start))) start++;
  return start;
}

/** Where `text[start, end)` ends without trailing OWS. */
function owsEnd(text: string, start: number, end: number): number {
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return end;
}

function cookieText(header: string | readonly string[] | undefined): string | undefined {
  if (typeof header === 'string') return header;
  return Array.isArray(header) ? header.join('; ') : undefined;
}

/**
 * Visits each pair between `;` or `,` separators that has a name (a `=`) once: RFC 6265's
 * `cookie-octet` holds no `,`, nginx and ASP.NET Core split pairs there, and workerd joins two
 * `Cookie` lines with `, ` where Node, Deno and Bun use `; ` (CK-08). Every pair after a `;`
 * counts toward {@link MAX_COOKIE_PAIRS}, with a name or not (a `,` piece does not: a list value
 * is one cookie) and the scan stops there (AMP-01). `visit` returns false to stop. Returns where
 * the scan stopped (the text's length when it read everything). Linear, in native searches: the
 * pieces without `=` after a `,` (a list value's: `l=gray,gray,…`, AMP-03) name nothing and
 * count toward nothing, so the scan passes over them all at once, to the next `;` or to the
 * piece holding the next `=`.
 */
function scanCookies(
  text: string,
  visit: (nameStart: number, nameEnd: number, valueStart: number, valueEnd: number) => boolean,
  cap = MAX_COOKIE_PAIRS,
): number {
  const n = text.length;
  let from = 0;
  let pairs = 0;
  // The next `=`, `;` and `,` at or after `from`, remembered across pairs: no search runs twice
  // over the same text (a header of `a;a;a;…` or one long pair stays linear, in native code).
  let eq = -1;
  let semi = -1;
  let comma = -1;
  const next = (at: number, c: string): number => {
    if (at !== Infinity && at < from) at = text.indexOf(c, from);
    return at === -1 ? Infinity : at;
  };
  // Only `;` starts a pair the cap counts: a list value (`viewed=1,2,…,200`) is one cookie to
  // the browser that set it, however many `,` pieces it reads as here (review 165 D1).
  let counted = true;
  while (from < n) {
    if (counted && pairs++ >= cap) return from;
    eq = next(eq, '=');
    semi = next(semi, ';');
    comma = next(comma, ',');
    const end = Math.min(semi, comma, n);
    if (eq < end) {
      if (!visit(from, eq, eq + 1, end)) return end;
      counted = end !== comma;
      from = end + 1;
    } else if (semi < eq) {
      // No `=` before the next `;`: the pieces up to it name nothing, the pair after it counts.
      from = semi + 1;
      counted = true;
    } else if (eq === Infinity) {
      // Neither: nothing after `from` names a cookie or counts.
      return n;
    } else {
      // The `=` comes first, after a `,` (this piece has none): its piece is the next to read.
      from = text.lastIndexOf(',', eq) + 1;
      counted = false;
    }
  }
  return n;
}

function isSeparator(c: number): boolean {
  return c === 0x3b || c === 0x2c;
}

/** True when `text[start, end)`, OWS-trimmed, equals `name` (no allocation). */
function sameName(text: string, start: number, end: number, name: string): boolean {
  if (end - start < name.length) return false;
  start = owsStart(text, start, end);
  end = owsEnd(text, start, end);
  return end - start === name.length && text.startsWith(name, start);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** True when `text[a, aEnd)` and `text[b, bEnd)` are the same characters. */
function sameText(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let i = 0; i < aEnd - a; i++)
    if (text.charCodeAt(a + i) !== text.charCodeAt(b + i)) return false;
  return true;
}

function cookieValue(raw: string): string {
  let v = trimOws(raw);
  if (v.length >= 2 && v.charCodeAt(0) === 0x22 && v.charCodeAt(v.length - 1) === 0x22)
    v = v.slice(1, -1);
  return safeDecode(v) ?? v;
}
