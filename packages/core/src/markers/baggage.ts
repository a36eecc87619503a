import {
  BAGGAGE_MAX_MEMBER_LENGTH,
  BAGGAGE_MAX_MEMBERS,
  BAGGAGE_MAX_TOTAL_LENGTH,
} from '../limits.js';
import { safeDecode } from './decode.js';
import { trimOws } from './parse.js';
import { READ_ABSENT, READ_AMBIGUOUS, type KeyRead } from './read.js';

/**
 * Reads one member from W3C `baggage` header(s) with a bounded scan, reproducing the limits of
 * OpenTelemetry's `W3CBaggagePropagator` (≥ 2.8): members over 4096 bytes are skipped, parsing
 * stops after 180 accepted members or 8192 accepted bytes, and several headers are one list
 * whose limits apply to the combination (BG-06/07/08). Unlike OTel (last wins), the key twice
 * with different values is ambiguous (BG-02). Properties after `;` are ignored (BG-04).
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
  if (header === undefined) return READ_ABSENT;
  const state: ScanState = { count: 0, total: 0, found: undefined, ambiguous: false };
  if (typeof header === 'string') scan(header, key, state);
  else if (Array.isArray(header))
    for (const h of header) if (typeof h === 'string' && !scan(h, key, state)) break;
  if (state.ambiguous) return READ_AMBIGUOUS;
  return state.found === undefined ? READ_ABSENT : { kind: 'value', value: state.found };
}

interface ScanState {
  count: number;
  total: number;
  found: string | undefined;
  ambiguous: boolean;
}

/** Returns false when a limit stopped the scan. */
function scan(value: string, key: string, st: ScanState): boolean {
  let start = 0;
  while (start < value.length) {
    if (st.count >= BAGGAGE_MAX_MEMBERS) return false;
    const end = value.indexOf(',', start);
    const entryEnd = end === -1 ? value.length : end;
    const length = entryEnd - start;
    if (length <= BAGGAGE_MAX_MEMBER_LENGTH) {
      const member = parseMember(value.substring(start, entryEnd));
      if (member) {
        const size = (st.count === 0 ? 0 : 1) + length;
        if (st.total + size > BAGGAGE_MAX_TOTAL_LENGTH) return false;
        st.count++;
        st.total += size;
        if (member.key === key) {
          if (st.found !== undefined && st.found !== member.value) st.ambiguous = true;
          st.found = member.value;
        }
      }
    }
    if (end === -1) break;
    start = end + 1;
  }
  return true;
}

/** OTel's `parsePairKeyValue`: a member counts only when key and value are non-empty and decode. */
function parseMember(entry: string): { key: string; value: string } | undefined {
  const semi = entry.indexOf(';');
  const pair = semi === -1 ? entry : entry.substring(0, semi);
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const rawKey = trimAll(pair.substring(0, eq));
  const rawValue = trimAll(pair.substring(eq + 1));
  if (!rawKey || !rawValue) return undefined;
  const key = safeDecode(rawKey);
  const value = safeDecode(rawValue);
  return key === undefined || value === undefined ? undefined : { key, value };
}

/** OTel trims with `String#trim`; kept identical so member counts agree. */
function trimAll(s: string): string {
  return s.trim();
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

/**
 * Returns the `baggage` header value without any member named `key` (for hops that must not
 * forward the marker), or undefined when nothing is left.
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
  const text =
    existing === undefined ? '' : typeof existing === 'string' ? existing : existing.join(',');
  const kept = text
    .split(',')
    .map(trimOws)
    .filter((entry) => entry.length > 0 && parseMember(entry)?.key !== key);
  return kept.length > 0 ? kept.join(',') : undefined;
}
