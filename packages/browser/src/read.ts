import { MAX_RAW_MARKER_BYTES } from '@graylane/core';

/** Query strings longer than this are not scanned (QS-06). */
const MAX_QUERY_SCAN = 8192;

/**
 * @internal What an ambiguous read returns: not a valid version, so it is rejected as
 * `invalid_marker` like any other bad value (CK-02, QS-03), with no `null` case to carry around.
 */
export const AMBIGUOUS = ',';

/**
 * @internal Values of `name` in a `;`-separated cookie string or a `&`-separated query string:
 * `undefined` when absent, {@link AMBIGUOUS} when present with disagreeing values or longer than
 * `cap` (CK-02, QS-03, QS-06), else the one value. Bounded; never throws. One DQUOTE pair is stripped
 * (CK-04); values are not percent-decoded: a version label never needs it, so any escape fails
 * validation (CK-03, QS-05).
 */
export function readPairs(
  text: string,
  separator: ';' | '&',
  name: string,
  cap = MAX_QUERY_SCAN,
): string | undefined {
  if (text.length > cap) return AMBIGUOUS;
  let found: string | undefined;
  for (const pair of text.split(separator)) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const raw = pair.slice(eq + 1).trim();
    const v = raw.length > MAX_RAW_MARKER_BYTES ? AMBIGUOUS : raw.replace(/^"(.*)"$/, '$1');
    // Query strings: a repeated key is ambiguous even when the values agree (QS-03).
    if (found !== undefined && (found !== v || separator === '&')) return AMBIGUOUS;
    found = v;
  }
  return found;
}

/**
 * @internal `name` in `document.cookie`, with no length cap: the browser bounds its own jar
 * (Chromium: 180 cookies of ≤ 4 KiB per host), and a page whose jar has grown past a server's
 * limits must still find its assignment (STK-04). Only the named pairs are looked at (CK-05).
 */
export function scanCookies(name: string): string | undefined {
  return typeof document == 'object' ? readPairs(document.cookie, ';', name, Infinity) : undefined;
}
