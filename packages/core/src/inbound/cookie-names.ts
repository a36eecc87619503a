/** Prefixes a browser enforces on cookie names (RFC 6265bis §4.1.3; compared ignoring case). */
const PREFIXED = /^__(host|secure)-/i;

/**
 * The cookie names read for the marker cookie `base`, in precedence order: every name the
 * browser SDK can write for it — `__Host-<base>` (https), `__Secure-<base>` (https with
 * `cookie.domain`, BC-02), `<base>` (http) — strongest first. Only the host itself can set a
 * `__Host-` cookie, `__Secure-` needs an https origin (a sibling subdomain on https can set one
 * for the parent domain), a plain one any sibling can set (CK-02). A name that already carries
 * a prefix is read as it is, alone.
 *
 * @example
 * ```ts
 * markerCookieNames('gray');        // ['__Host-gray', '__Secure-gray', 'gray']
 * markerCookieNames('__Host-gray'); // ['__Host-gray']
 * ```
 */
export function markerCookieNames(base: string): readonly string[] {
  return PREFIXED.test(base) ? [base] : [`__Host-${base}`, `__Secure-${base}`, base];
}

/**
 * The default marker cookie's names, in precedence order. Also removed when the cookie carrier
 * is switched off, so a later hop with default settings never reads what this one ignored.
 * `markerCookieNames('gray')`, written out: a literal, so bundlers that do not use it drop it.
 */
export const DEFAULT_MARKER_COOKIES: readonly string[] = ['__Host-gray', '__Secure-gray', 'gray'];
