import { MAX_COOKIE_HEADER_BYTES, MAX_COOKIE_PAIRS } from '@graylane/core';

/**
 * The nginx `map` that reads one marker cookie from the raw `Cookie` header (so `__Host-` names
 * work: nginx `$cookie_` variables cannot hold a dash), the way graylane's reader does
 * (`@graylane/core` `readCookies`, RELIABILITY CK-02/CK-04, AMP-01):
 *
 * - a header over {@link MAX_COOKIE_HEADER_BYTES} is not read at all;
 * - only the first {@link MAX_COOKIE_PAIRS} pairs are seen; a name is matched after trimming
 *   spaces and tabs (`gray =beta` is `gray`); a pair without `=` has no name;
 * - a cookie read earlier in precedence (`__Host-gray`) that is present at all — valid, invalid,
 *   empty or ambiguous — means this one is not read (core's `firstCookie`, issue 15, CK-02);
 * - the value is trimmed, one pair of double quotes stripped (`"beta"`, `" beta "` inside the
 *   quotes is trimmed again when parsed as a marker), and it must be a valid marker;
 * - every later pair of the same name must hold the same value (quoted or not), else the cookie
 *   is ambiguous and ignored.
 *
 * Bounded work (I4, AMP-03): every regex is anchored at `^` and walks the pairs once with
 * possessive quantifiers, so PCRE tries one start position and never re-scans: the old pattern
 * (`(?:^|;)… gray=(?<d>…);(?:.*;)? gray=(?!\k<d>)`) was retried at every pair, quadratic in the
 * header (a 56 KB header of `gray=a;` held a worker for 4.75 s).
 *
 * Not modelled (nginx sees raw bytes): percent-decoding (`gray=%62eta` is not `beta` here, so
 * the default lane), the 16 KiB cap counted in bytes rather than UTF-16 units, and a duplicate
 * past the 180th pair (here: still compared, so ambiguous).
 */
export function cookieMap(
  name: string,
  slot: number,
  value: string,
  earlier: readonly string[],
): string[] {
  const q = `graylane_c${slot}q`;
  const d = `graylane_c${slot}d`;
  const got = `graylane_c${slot}`;
  // One value as core's cookieValue + parseMarker read it: trimmed, one DQUOTE pair stripped
  // (the inside trimmed again by parseMarker), nothing after it but spaces before `;`.
  const first =
    `${OWS}(?<${q}>\\")?+` +
    `(?<${d}>(?(<${q}>)${OWS})(?<${got}>${value})(?(<${q}>)${OWS}))` +
    `(?(<${q}>)\\")${OWS}(?=;|$)`;
  // A later pair of the same name: the same value, quoted (`"<d>"`) or bare (`<d>` when it
  // neither starts nor ends with a space: a bare value is trimmed); any other pair name.
  const same = `${OWS}(?:\\"\\k<${d}>\\"|\\k<${d}>(?<![ \\t]))${OWS}(?=;|$)`;
  const later = `(?:;(?:${nameEq(name)}${same}|(?!${nameEq(name)})[^;]*+))*+$`;
  return [
    `# The ${name} cookie (twice with different values: ambiguous, ignored${earlier.length ? `; not read when ${earlier.join(', ')} is present` : ''}).`,
    `map $http_cookie $graylane_cookie_${slot} {`,
    '    default "";',
    `    "~^.{${MAX_COOKIE_HEADER_BYTES + 1}}" "";`,
    ...earlier.map((e) => `    "~${firstPair(e)}" "";`),
    `    "~${firstPair(name)}${first}${later}" $${got};`,
    '}',
  ];
}

/** PCRE, possessive: the spaces and tabs graylane's reader trims (OWS). */
const OWS = '[ \\t]*+';

/** A pair's name (trimmed) equal to `name`, through its `=`. Names need no escaping. */
function nameEq(name: string): string {
  return `${OWS}${name}${OWS}=`;
}

/**
 * From `^` to the `=` of the first pair named `name` among the first {@link MAX_COOKIE_PAIRS}:
 * every other pair is consumed possessively, so there is exactly one way to get there.
 */
function firstPair(name: string): string {
  return `^(?:(?!${nameEq(name)})[^;]*+;){0,${MAX_COOKIE_PAIRS - 1}}+${nameEq(name)}`;
}
