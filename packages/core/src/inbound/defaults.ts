/**
 * Inbound defaults shared by every platform (DESIGN.md "Defaults"), in one place so Node, the
 * Web engine and rendered gateway configs agree.
 */

/** Default marker header. Header names are compared lower-cased. */
export const DEFAULT_HEADER = 'x-gray-id';
/** Default marker cookie, query parameter and baggage key. */
export const DEFAULT_MARKER_KEY = 'gray';
/**
 * The cookie the browser SDK writes on https (`__Host-` prefix: host-only, `Secure`, `Path=/`,
 * so a sibling subdomain cannot plant it). Servers read it first, then `__Secure-gray` (what the
 * browser writes with `cookie.domain`), then `gray` (issue 15, `DEFAULT_MARKER_COOKIES`), and
 * write it when the cookie carries `Secure`.
 */
export const DEFAULT_SECURE_COOKIE = '__Host-gray';
/** Opt-in debug response header (issue 3). */
export const DEBUG_HEADER = 'X-Gray-Decision';
/** Default sticky cookie lifetime: 30 days, the RELIABILITY cap. */
export const DEFAULT_STICKY_MAX_AGE_SECONDS = 2_592_000; // 30 days: 30 * 24 * 60 * 60
/** Default signed-marker lifetime (2 h): long enough for a session, short enough to rotate. */
export const DEFAULT_SIGNED_TTL_SECONDS = 7200;
