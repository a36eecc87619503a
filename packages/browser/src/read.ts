import { MAX_RAW_MARKER_BYTES } from '@graylane/core';

/** Cookie headers and query strings longer than this are not scanned (QS-06, CK-05). */
const MAX_SCAN = 8192;

/**
 * @internal Values of `name` in a `;`-separated cookie string or a `&`-separated query string:
 * `undefined` when absent, `null` when present with disagreeing values (CK-02, QS-03: ambiguous),
 * else the one value. Bounded; never throws. One DQUOTE pair is stripped (CK-04); values are not
 * percent-decoded: a version label never needs it, so any escape fails validation (CK-03, QS-05).
 */
export function readPairs(
  text: string,
  separator: ';' | '&',
  name: string,
): string | null | undefined {
  if (text.length > MAX_SCAN) return null;
  let found: string | undefined;
  for (const pair of text.split(separator)) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let v = pair.slice(eq + 1).trim();
    if (v.length > MAX_RAW_MARKER_BYTES) v = '#';
    if (/^".*"$/.test(v)) v = v.slice(1, -1);
    // Query strings: a repeated key is ambiguous even when the values agree (QS-03).
    if (found !== undefined && (found !== v || separator === '&')) return null;
    found = v;
  }
  return found;
}
