import { MAX_RAW_MARKER_BYTES } from '@graylane/core';

/** Query strings longer than this are not scanned (QS-06). */
const MAX_QUERY_SCAN = 8192;

/**
 * @internal What an ambiguous read returns: not a valid version, so it is rejected as
 * `invalid_marker` like any other bad value (CK-02, QS-03), with no `null` case to carry around.
 */
export const AMBIGUOUS = ',';

/**
 * @internal Every value of `name` in a `;`-separated cookie string or a `&`-separated query
 * string, in order: one DQUOTE pair stripped (CK-04), {@link AMBIGUOUS} for a value over 64
 * bytes. Values are not percent-decoded: a version label never needs it, so any escape fails
 * validation (CK-03, QS-05). Never throws.
 */
export function readValues(
  text: string,
  separator: ';' | '&',
  name: string,
  whole = false,
): string[] {
  const values: string[] = [];
  for (const pair of text.split(separator)) {
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
 * @internal The value of `name` ({@link readValues}): `undefined` when absent, {@link AMBIGUOUS}
 * when present with disagreeing values or when `text` is longer than `cap` (CK-02, QS-03,
 * QS-06), else the one value. Bounded.
 */
export function readPairs(
  text: string,
  separator: ';' | '&',
  name: string,
  cap = MAX_QUERY_SCAN,
): string | undefined {
  if (text.length > cap) return AMBIGUOUS;
  const [found, ...more] = readValues(text, separator, name);
  // Query strings: a repeated key is ambiguous even when the values agree (QS-03).
  return more.some((v) => v !== found || separator === '&') ? AMBIGUOUS : found;
}

/**
 * @internal `name` in `document.cookie`, with no length cap: the browser bounds its own jar
 * (Chromium: 180 cookies of ≤ 4 KiB per host), and a page whose jar has grown past a server's
 * limits must still find its assignment (STK-04). Only the named pairs are looked at (CK-05).
 */
export function scanCookies(name: string): string | undefined {
  return typeof document == 'object' ? readPairs(document.cookie, ';', name, Infinity) : undefined;
}

/**
 * @internal Every value of `name` in `document.cookie`, one per cookie: what tells the page's
 * own cookie from others of the name (CK-02).
 */
export const cookieValues = (name: string): string[] =>
  readValues(document.cookie, ';', name, true);
