import type { AllowEntry } from '@graylane/core';
import { fail } from './options.js';

/** Core's anchoring rule: `^…$` (not `\$`) or `^…/`. */
const ANCHORED = /^\^(?:[^]*[^\\])?\$$|^\^[^]*\/$/;
/** Markers only ever go to http(s). */
export const HTTP = /^https?:$/;

/**
 * @internal The page's allowlist: `allow` entries checked once (throws `INVALID_OPTIONS`), then a
 * test of an already resolved URL. Entries are exact origins (scheme, host and port) and RegExps
 * anchored like core's (`^…$` or `^…\/`), tested against the origin alone, never path, query or
 * userinfo — core's `createAllowlist` contract (I8), asserted against it row by row and by a
 * property test, in the few hundred bytes a page can afford. Core's bare-host entries
 * (`api.example.com`: any scheme, any port) are refused in a page: a page names origins
 * (BR-08: a scheme or port change is another origin).
 */
export function allowlist(
  allow: readonly AllowEntry[] = [],
  own: string | undefined,
): (u: URL) => boolean {
  const origins = new Set([own]);
  const patterns: RegExp[] = [];
  for (const e of allow)
    if (e instanceof RegExp && ANCHORED.test(e.source))
      patterns.push(RegExp(`^(?:${e.source})$`, e.flags.replace(/[gy]/g, '')));
    else origins.add(origin(e));
  return ({ protocol, origin }) =>
    HTTP.test(protocol) &&
    (origins.has(origin) || patterns.some((re) => re.test(origin) || re.test(origin + '/')));
}

/** A bare http(s) origin as written (case, one trailing `/`, a default port aside), else throws. */
function origin(e: unknown): string {
  try {
    const { protocol, origin } = new URL(e as string);
    const t = (e as string).replace(/\/$/, '').toLowerCase();
    // `https://*.x` or `https://.x` would name a host no request has (not a wildcard): refused.
    if (
      HTTP.test(protocol) &&
      !/\*|\/\./.test(origin) &&
      (origin == t || origin == t.replace(/:(80|443)$/, ''))
    )
      return origin;
  } catch {
    // Not a URL: reported below like any other bad entry.
  }
  return fail(
    `allow entry ${String(e)}: not an origin (https://api.example.com) or an anchored RegExp`,
  );
}
