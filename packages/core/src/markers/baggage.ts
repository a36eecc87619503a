import {
  BAGGAGE_MAX_MEMBER_LENGTH,
  BAGGAGE_MAX_MEMBERS,
  BAGGAGE_MAX_TOTAL_LENGTH,
} from '../limits.js';
import { safeDecode } from './decode.js';
import { leadByte } from './percent.js';
import { SliceJoin } from './join.js';
import { decodesTo, trimmedEnd, trimmedStart } from './key-match.js';
import { trimOws } from './parse.js';
import { READ_ABSENT, READ_AMBIGUOUS, type KeyRead } from './read.js';

/**
 * Reads one member from W3C `baggage` header(s) with a bounded scan. Limits follow
 * OpenTelemetry's `W3CBaggagePropagator` (≥ 2.8) — members over 4096 bytes are skipped, parsing
 * stops at 180 members or 8192 bytes, several headers are one list whose limits apply to the
 * combination (BG-06/07/08) — with one deliberate difference for hostile input (AMP-01): every
 * entry counts toward the 180-member cap, parsed or not, and every entry up to 4096 bytes counts
 * toward the 8192-byte cap, so a header of junk entries stops the scan as early as a valid one.
 * Only entries whose key is `key` are decoded; a member counts as present when its key and value
 * are non-empty and decode, as in OTel. Unlike OTel (last wins), the key twice with different
 * values is ambiguous (BG-02). Properties after `;` are ignored (BG-04). Nothing throws.
 *
 * @example
 * ```ts
 * readBaggageMember('a=1,gray=beta;ttl=10', 'gray'); // { kind: 'value', value: 'beta' }
 * ```
 */
export function readBaggageMember(
  header: string | readonly string[] | undefined,
  key: string,
): KeyRead {
  // A key is matched after trimming and percent-decoding only: a header in which neither the key
  // nor any `%` occurs cannot hold it, and is ruled out without a scan (the common case). Only
  // for a header within the byte cap: a longer one is read no further than its caps allow.
  if (
    typeof header === 'string' &&
    header.length <= BAGGAGE_MAX_TOTAL_LENGTH &&
    !header.includes(key) &&
    !header.includes('%')
  )
    return READ_ABSENT;
  if (typeof header === 'string') {
    if (header === last.header && key === last.key) return last.read;
    const read = scanned(header, key);
    // Memoised up to twice the byte cap (inline: a top-level const stays in every bundle).
    if (header.length <= 2 * BAGGAGE_MAX_TOTAL_LENGTH) {
      last.header = header;
      last.key = key;
      last.read = read;
    }
    return read;
  }
  return scanned(header, key);
}

/**
 * Where OpenTelemetry propagators other than the W3C one carry a baggage member `key`, each in
 * a header of its own, lower-case (HTTP names are case-insensitive, and a Node server hands the
 * propagator lower-cased names, so `Uberctx-Gray` is read as `gray` too):
 * - `uberctx-<key>`: `JaegerPropagator` (`@opentelemetry/propagator-jaeger`, `OTEL_PROPAGATORS`
 *   `jaeger`), the value percent-encoded, the key as is;
 * - `ot-baggage-<key>`: `OTTracePropagator` (`@opentelemetry/propagator-ot-trace`), both as is.
 * B3 carries no baggage. A propagator configured with another prefix is not known here: wrap it
 * in `GrayPropagator` (`@graylane/otel`).
 *
 * @example
 * ```ts
 * baggageMemberHeaders('gray'); // ['uberctx-gray', 'ot-baggage-gray']
 * ```
 */
export function baggageMemberHeaders(key: string): readonly [string, string] {
  const k = key.toLowerCase();
  return [`uberctx-${k}`, `ot-baggage-${k}`];
}

/**
 * The last string header scanned, its key and what it read. `readBaggageMember` is pure, so the
 * same header and key read the same: when `GrayPropagator.extract` (in `@graylane/otel`) has
 * just read a request's `baggage` and the inbound engine reads it again for the same request,
 * the second read is a string compare, not a second scan (issue 20). Only headers up to twice
 * the byte cap are kept, so a hostile megabyte is never held.
 */
const last: { header: string | undefined; key: string | undefined; read: KeyRead } = {
  header: undefined,
  key: undefined,
  read: READ_ABSENT,
};

function scanned(header: string | readonly string[] | undefined, key: string): KeyRead {
  const st: ScanState = { count: 0, total: 0, found: undefined, ambiguous: false };
  if (typeof header === 'string') scan(header, key, st);
  else if (Array.isArray(header))
    for (const h of header) if (typeof h === 'string' && !scan(h, key, st)) break;
  if (st.ambiguous) return READ_AMBIGUOUS;
  return st.found === undefined ? READ_ABSENT : { kind: 'value', value: st.found };
}

interface ScanState {
  count: number;
  total: number;
  found: string | undefined;
  ambiguous: boolean;
}

/** Returns false when a limit stopped the scan (or the key turned out ambiguous). */
function scan(value: string, key: string, st: ScanState): boolean {
  let start = 0;
  let eq = -1;
  while (start < value.length) {
    if (st.count >= BAGGAGE_MAX_MEMBERS) return false;
    let end = value.indexOf(',', start);
    if (end === -1) end = value.length;
    const length = end - start;
    // AMP-01: the entry counts whether or not it parses.
    st.count++;
    if (length <= BAGGAGE_MAX_MEMBER_LENGTH) {
      const size = (st.count === 1 ? 0 : 1) + length;
      if (st.total + size > BAGGAGE_MAX_TOTAL_LENGTH) return false;
      st.total += size;
      // The next `=` is remembered across entries, so entries without one cost no re-search.
      if (eq < start) eq = value.indexOf('=', start);
      if (eq === -1) eq = value.length + 1;
      if (eq < end && keyMatches(value, start, eq, key)) {
        const member = parseMember(value.substring(start, end));
        if (member) {
          if (st.found !== undefined && st.found !== member.value) {
            st.ambiguous = true;
            return false;
          }
          st.found = member.value;
        }
      }
    }
    if (end === value.length) break;
    start = end + 1;
  }
  return true;
}

/** The last key's escape search (a process reads one or two keys). */
let escapeKey: string | undefined;
let keyEscapes = /%/;

/**
 * @internal True when `text` could hold a member named `key` ({@link keyMatches}:
 * the key, trimmed and decoded, exactly): the key as written, or an escape of a byte that starts
 * one of its characters in UTF-8 (`%67` for `g`; a key not written out whole has one of its
 * characters escaped). False means no member there needs a look: a header of escapes that spell
 * nothing of the key (`%ZZ=%ZZ`, `%20` in values) is neither read for a marker nor rebuilt
 * (AMP-01). A header longer than the readers' 8192 bytes holds it whenever it has a `%`.
 *
 * @example
 * ```ts
 * mayHoldMember('%67ray=beta', 'gray'); // true
 * mayHoldMember('a=%20b,%ZZ=1', 'gray'); // false
 * ```
 */
export function mayHoldMember(text: string, key: string): boolean {
  // Past the readers' total cap any `%` counts, as for the tail `stripBaggageMember` drops: the
  // answer comes from the first `%`, not from a search of the whole header (1 MiB of `%ZZ=`).
  if (text.length > BAGGAGE_MAX_TOTAL_LENGTH) return text.includes('%') || text.includes(key);
  if (text.includes(key)) return true;
  if (key !== escapeKey) {
    const bytes = new Set<string>();
    for (const ch of key) bytes.add(leadByte(ch.codePointAt(0) as number));
    // Hex digits in either case; the byte itself is exact (`%47` is `G`, not `g`).
    keyEscapes = new RegExp(`%(?:${[...bytes].join('|')})`, 'i');
    escapeKey = key;
  }
  return keyEscapes.test(text);
}

/**
 * True when the raw key `text[start, end)`, trimmed as `String#trim` does and decoded if
 * escaped, is `key`: compared in place, so junk keys allocate nothing and no search runs past
 * the key (AMP-01).
 */
function keyMatches(text: string, start: number, end: number, key: string): boolean {
  const s = trimmedStart(text, start, end);
  return decodesTo(text, s, trimmedEnd(text, s, end), key, false);
}

/**
 * Returns a `baggage` header value with `key=value` set exactly once (replacing any previous
 * member with that key, OUT-01) and placed first, so readers that stop at 180 members or
 * 8192 bytes still see it. Other members are kept in order while the W3C limits allow; a member
 * never gets cut in half. `value` must already be a safe token (a validated version).
 *
 * @example
 * ```ts
 * setBaggageMember('gray=stable,a=1', 'gray', 'beta'); // 'gray=beta,a=1'
 * ```
 */
export function setBaggageMember(
  existing: string | readonly string[] | undefined,
  key: string,
  value: string,
): string {
  const ours = `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
  const parts: string[] = [ours];
  let total = ours.length;
  const text =
    existing === undefined ? '' : typeof existing === 'string' ? existing : existing.join(',');
  let start = 0;
  while (start < text.length && parts.length < BAGGAGE_MAX_MEMBERS) {
    const end = text.indexOf(',', start);
    const entryEnd = end === -1 ? text.length : end;
    const entry = trimOws(text.substring(start, entryEnd));
    if (entry.length > 0 && entry.length <= BAGGAGE_MAX_MEMBER_LENGTH) {
      const member = parseMember(entry);
      if (member && member.key !== key && total + 1 + entry.length <= BAGGAGE_MAX_TOTAL_LENGTH) {
        parts.push(entry);
        total += 1 + entry.length;
      }
    }
    if (end === -1) break;
    start = end + 1;
  }
  return parts.join(',');
}

/** OTel's `parsePairKeyValue`: a member counts only when key and value are non-empty and decode. */
function parseMember(entry: string): { key: string; value: string } | undefined {
  const semi = entry.indexOf(';');
  const pair = semi === -1 ? entry : entry.substring(0, semi);
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const rawKey = pair.substring(0, eq).trim();
  const rawValue = pair.substring(eq + 1).trim();
  if (!rawKey || !rawValue) return undefined;
  const key = safeDecode(rawKey);
  const value = safeDecode(rawValue);
  return key === undefined || value === undefined ? undefined : { key, value };
}

/**
 * Returns the `baggage` header value without any member named `key`, whatever its value (empty
 * and undecodable ones too), for hops that must not forward the marker; undefined when nothing is
 * left. One linear pass; keys are compared in place unless escaped.
 *
 * @example
 * ```ts
 * removeBaggageMember('gray=beta,a=1', 'gray'); // 'a=1'
 * ```
 */
export function removeBaggageMember(
  existing: string | readonly string[] | undefined,
  key: string,
): string | undefined {
  return stripBaggageMember(existing, key).rest;
}

/**
 * Removes every member named `key` for a hop that normalises what it forwards (GW-02), bounded
 * like {@link readBaggageMember}: the entries within its caps (180 entries, 8192 bytes) are
 * rebuilt without `key`; what lies past the caps is kept verbatim unless it could hold `key`
 * (contains it or an escape), in which case it is dropped — W3C lets a hop drop members past the
 * limits, and a marker graylane never read must not travel on either. `removed` counts members
 * removed and tails dropped.
 *
 * @example
 * ```ts
 * stripBaggageMember('gray=beta,a=1,gray=x', 'gray'); // { rest: 'a=1', removed: 2 }
 * ```
 */
export function stripBaggageMember(
  existing: string | readonly string[] | undefined,
  key: string,
): { readonly rest: string | undefined; readonly removed: number } {
  const text =
    existing === undefined ? '' : typeof existing === 'string' ? existing : existing.join(',');
  // One pass: kept members are sliced in runs, never copied one by one (AMP-01).
  const kept = new SliceJoin(text, ',');
  let removed = 0;
  let count = 0;
  let total = 0;
  let start = 0;
  // The next `=`, remembered across entries: entries without one cost no re-search.
  let eq = -1;
  while (start < text.length) {
    let end = text.indexOf(',', start);
    if (end === -1) end = text.length;
    const length = end - start;
    const size = (count === 0 ? 0 : 1) + length;
    if (
      count >= BAGGAGE_MAX_MEMBERS ||
      (length <= BAGGAGE_MAX_MEMBER_LENGTH && total + size > BAGGAGE_MAX_TOTAL_LENGTH)
    ) {
      // Past the caps: one look at the tail, an escape first (the cheap, usual hostile case).
      const s = trimmedStart(text, start, text.length);
      const e = trimmedEnd(text, s, text.length);
      if (containsAt(text, s, e, '%') || containsAt(text, s, e, key)) removed++;
      else if (e > s) kept.add(s, e);
      break;
    }
    count++;
    if (length <= BAGGAGE_MAX_MEMBER_LENGTH) total += size;
    let s = start;
    let e = end;
    while (s < e && isOws(text.charCodeAt(s))) s++;
    while (e > s && isOws(text.charCodeAt(e - 1))) e--;
    if (e > s) {
      if (eq < s) eq = after(text.indexOf('=', s), text.length);
      // A member's key: before its first `=`, which must come before any `;` (properties).
      if (eq > s && eq < e && keyMatches(text, s, eq, key) && !hasSemicolon(text, s, eq)) removed++;
      else kept.add(s, e);
    }
    start = end + 1;
  }
  return { rest: kept.result(), removed };
}

/** `indexOf`'s "not found" as a position past the end, so it is never searched for again. */
function after(index: number, n: number): number {
  return index === -1 ? n + 1 : index;
}

/** True when `text[start, end)` holds a `;` (a bounded look, never a search past `end`). */
function hasSemicolon(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === 0x3b) return true;
  return false;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** True when `text[start, end)` contains `s` (the first match after `start` decides). */
function containsAt(text: string, start: number, end: number, s: string): boolean {
  const i = text.indexOf(s, start);
  return i !== -1 && i + s.length <= end;
}
