/**
 * Redirect hops one read of an HTTP rules endpoint follows (the same as `@graylane/node`'s HTTP
 * source; fetch allows 20, a rules endpoint needs one or two).
 */
export const MAX_RULES_REDIRECTS = 5;

/** Redirect statuses the source follows itself (`redirect: 'manual'`). */
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** True for a redirect status. */
export function isRedirect(status: number): boolean {
  return REDIRECTS.has(status);
}

/** Where a redirect goes, or why it is not followed. */
export type Hop =
  { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly reason: string };

/**
 * Resolves a redirect's `Location` against the URL that answered it, and refuses what a rules
 * endpoint must never be sent to: no Location, an unparsable one, a scheme other than http(s),
 * and a downgrade from https to http (the document decides routing: a plaintext hop lets anyone
 * on the path rewrite it). As `@graylane/node`'s `sources/http/redirect.ts`.
 *
 * @example
 * ```ts
 * nextHop(new URL('https://a.example/x'), '/y'); // { ok: true, url: https://a.example/y }
 * nextHop(new URL('https://a.example/x'), 'http://a.example/y'); // { ok: false, … }
 * ```
 */
export function nextHop(from: URL, location: string | null): Hop {
  if (location === null || location.trim() === '')
    return { ok: false, reason: 'redirect without a Location' };
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    return { ok: false, reason: 'redirect to an unparsable Location' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, reason: `redirect to ${url.protocol}, not http(s): not followed` };
  if (from.protocol === 'https:' && url.protocol === 'http:')
    return { ok: false, reason: 'redirect from https to http: not followed' };
  return { ok: true, url };
}
