import { MAX_QUERY_BYTES, MAX_QUERY_PARAMS, MAX_RAW_MARKER_BYTES } from '@graylane/core';

/**
 * @internal What an ambiguous read returns: not a valid version, so it is rejected as
 * `invalid_marker` like any other bad value (CK-02, QS-03), with no `null` case to carry around.
 */
export const AMBIGUOUS = ',';

/** Percent-decoding with `+` as a space; `undefined` for a bad escape or bad UTF-8. */
function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * @internal The value of the query parameter `name` in `search` (`location.search`) exactly as
 * core's `readQueryParam` — what every server adapter reads — finds it, so the page never takes a
 * version from a query the server read otherwise (review 156 D1): keys and values are
 * percent-decoded with `+` as a space (a value that does not decode stays raw and fails
 * validation, QS-05), a bare key is an empty value, a repeated key is ambiguous (QS-03), only the
 * first 256 `&` parts count, empty ones too, and a query over 8 KiB is not read (QS-06).
 * `undefined` when absent, {@link AMBIGUOUS} when ambiguous or too long. Not core's reader itself:
 * built for servers (linear, allocation-free), it costs the page bundle ~1.1 kB gzipped; here the
 * 8 KiB cap bounds a plain split.
 * `query-read.test.ts` holds the two to the same answers on generated queries, and the Chromium
 * `query-agreement.test.ts` through a real page and server.
 */
export function readQuery(search: string, name: string): string | undefined {
  const text = search.slice(1);
  if (text.length > MAX_QUERY_BYTES) return AMBIGUOUS;
  let found: string | undefined;
  for (const part of text.split('&', MAX_QUERY_PARAMS)) {
    // `[key]` for a bare key, `[key, value, '']` past the first `=`.
    const [key, value = ''] = part.split(/=(.*)/s);
    if (part && decode(key as string) === name)
      found = found === undefined ? (decode(value) ?? value) : AMBIGUOUS;
  }
  return found;
}

/**
 * @internal Every value of `name` in a `;`-separated cookie string, in order: one DQUOTE pair
 * stripped (CK-04), {@link AMBIGUOUS} for a value over 64 bytes. Values are not percent-decoded:
 * a version label never needs it, so any escape fails validation (CK-03). Never throws.
 */
export function readValues(text: string, name: string, whole = false): string[] {
  const values: string[] = [];
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    const raw = pair.slice(eq + 1).trim();
    if (eq >= 0 && pair.slice(0, eq).trim() === name)
      values.push(
        raw.length > MAX_RAW_MARKER_BYTES && !whole ? AMBIGUOUS : raw.replace(/^"(.*)"$/, '$1'),
      );
  }
  return values;
}

/**
 * @internal `name` in `document.cookie` ({@link readValues}): `undefined` when absent,
 * {@link AMBIGUOUS} when present with disagreeing values (CK-02), else the one value. No length
 * cap: the browser bounds its own jar (Chromium: 180 cookies of ≤ 4 KiB per host), and a page
 * whose jar has grown past a server's limits must still find its assignment (STK-04). Only the
 * named pairs are looked at (CK-05).
 */
export function scanCookies(name: string): string | undefined {
  if (typeof document != 'object') return undefined;
  const [found, ...more] = readValues(document.cookie, name);
  return more.some((v) => v !== found) ? AMBIGUOUS : found;
}

/**
 * @internal Every value of `name` in `document.cookie`, one per cookie: what tells the page's
 * own cookie from others of the name (CK-02).
 */
export const cookieValues = (name: string): string[] => readValues(document.cookie, name, true);
