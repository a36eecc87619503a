import { MAX_COOKIE_HEADER_BYTES, MAX_COOKIE_PAIRS } from '../limits.js';
import { safeDecode } from './decode.js';
import { SliceJoin } from './join.js';
import { trimOws } from './parse.js';
import { READ_ABSENT, READ_AMBIGUOUS, READ_TOO_LONG, type KeyRead } from './read.js';

/**
 * Reads one cookie from a `Cookie` header. Bounded: the header is capped at 16 KiB before any
 * scan and at 180 pairs during it, each pair is visited once (linear, never a re-scan per pair),
 * and only pairs whose name equals `name` are decoded, without exceptions (AMP-01). Several header lines (HTTP/1.1) or
 * HTTP/2 crumbs are joined with `; ` (CK-08). The same name twice with different values is
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
    if (nameEnd === -1) return true;
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

/**
 * Parses a `Cookie` header once into its pairs (AMP-02: one parse per request, whatever the
 * number of lookups). `too_long` over the 16 KiB cap, as {@link readCookie}.
 */
export function parseCookiePairs(
  header: string | readonly string[] | undefined,
): CookiePairs | 'too_long' {
  const pairs = new Map<string, string[]>();
  const text = cookieText(header);
  if (text === undefined) return pairs;
  if (text.length > MAX_COOKIE_HEADER_BYTES) return 'too_long';
  scanCookies(text, (nameStart, nameEnd, valueStart, valueEnd) => {
    if (nameEnd === -1) return true;
    // Trimmed in place: one string per name, not two.
    const start = owsStart(text, nameStart, nameEnd);
    const name = text.slice(start, owsEnd(text, start, nameEnd));
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
 * Returns the `Cookie` header without the pairs named in `names` (graylane's own marker
 * cookies), or undefined when nothing is left. Bounded like the readers: the first 180 pairs are
 * rebuilt; what follows is kept verbatim unless it could hold one of `names`, in which case it
 * is dropped (a marker graylane never read must not travel on either).
 *
 * @example
 * ```ts
 * removeCookies('a=1; gray=beta; b=2', ['gray']); // 'a=1; b=2'
 * ```
 */
export function removeCookies(
  header: string | readonly string[] | undefined,
  names: readonly string[],
): string | undefined {
  const text = cookieText(header);
  if (text === undefined) return undefined;
  // One pass: kept pairs are sliced in runs, never copied one by one (AMP-01).
  const kept = new SliceJoin(text, '; ');
  const stop = scanCookies(text, (nameStart, nameEnd, _valueStart, valueEnd, pairStart) => {
    if (nameEnd !== -1 && isOneOf(text, nameStart, nameEnd, names)) return true;
    const start = owsStart(text, pairStart, valueEnd);
    const end = owsEnd(text, start, valueEnd);
    if (end > start) kept.add(start, end);
    return true;
  });
  if (stop < text.length) {
    const start = owsStart(text, stop, text.length);
    const end = owsEnd(text, start, text.length);
    // At most one linear search per name (`names` holds two): a name contains no OWS, so one
    // found past `start` lies within the trimmed rest.
    if (end > start && !names.some((n) => text.includes(n, start))) kept.add(start, end);
  }
  return kept.result();
}

/**
 * @internal Where the first pair named `name` of `text` (a `Cookie` header, lines joined) starts,
 * or -1: the name after the start or a `;` and OWS, then OWS and `=`, as the readers match it
 * (`xgray=1`, `gray_uid=1`, `a=gray` are not named `gray`). Linear: each OWS run is walked at
 * most twice, nothing allocated.
 */
export function namedCookie(text: string, name: string): number {
  for (let i = text.indexOf(name), j; i !== -1; i = text.indexOf(name, i + 1))
    if (
      text.charCodeAt(owsStart(text, i + name.length, text.length)) === 0x3d &&
      ((j = owsEnd(text, 0, i)) === 0 || text.charCodeAt(j - 1) === 0x3b)
    )
      return i;
  return -1;
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
 * Visits each pair between `;` separators once (`nameEnd` is -1 for a pair without `=`). Every
 * pair counts toward {@link MAX_COOKIE_PAIRS} and the scan stops there (AMP-01). `visit` returns
 * false to stop. Returns where the scan stopped (the text's length when it read everything).
 */
function scanCookies(
  text: string,
  visit: (
    nameStart: number,
    nameEnd: number,
    valueStart: number,
    valueEnd: number,
    pairStart: number,
  ) => boolean,
): number {
  let from = 0;
  let pairs = 0;
  // The next `=` at or after `from`, remembered across pairs: pairs without `=` never make the
  // search run again over the same text (a header of `a;a;a;…` stays linear).
  let eq = -1;
  while (from < text.length) {
    if (pairs++ >= MAX_COOKIE_PAIRS) return from;
    let end = text.indexOf(';', from);
    if (end === -1) end = text.length;
    if (eq !== Infinity && eq < from) {
      eq = text.indexOf('=', from);
      if (eq === -1) eq = Infinity;
    }
    const ok = eq < end ? visit(from, eq, eq + 1, end, from) : visit(from, -1, end, end, from);
    if (!ok) return end;
    from = end + 1;
  }
  return text.length;
}

/** True when `text[start, end)`, OWS-trimmed, is one of `names` (no allocation). */
function isOneOf(text: string, start: number, end: number, names: readonly string[]): boolean {
  for (const n of names) if (sameName(text, start, end, n)) return true;
  return false;
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
