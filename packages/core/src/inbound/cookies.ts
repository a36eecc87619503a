import type { ResolvedSticky } from './resolve.js';

/** Cookie-name prefixes that require `Secure` (RFC 6265bis §4.1.3). */
const SECURE_PREFIXES = ['__Host-', '__Secure-'];

/**
 * Formats one `Set-Cookie` value with the safe attributes: `Path=/`, `Max-Age` ≤ 30 days,
 * `SameSite=Lax`, `HttpOnly` unless disabled, `Secure` on TLS (or always, or for prefixed names),
 * `Priority=High` — as the browser SDK writes its own: Chromium evicts a host's cookies past 180
 * lowest priority first, so without it the sticky version and subject cookies went before the
 * page's and the app's (STK-04, review 173 D5). Browsers without priorities ignore it.
 * `value` must already be a safe cookie-octet string (a version, a signed token or an id);
 * `maxAgeSeconds` overrides the sticky lifetime (never upwards: the caller clamps).
 *
 * @example
 * ```ts
 * formatSetCookie('gray', 'beta', resolved.sticky, true);
 * // 'gray=beta; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly; Secure; Priority=High'
 * ```
 */
export function formatSetCookie(
  name: string,
  value: string,
  sticky: Pick<ResolvedSticky, 'secure' | 'httpOnly' | 'maxAgeSeconds'>,
  tls: boolean,
  maxAgeSeconds: number = sticky.maxAgeSeconds,
): string {
  const secure = isSecure(sticky, tls) || SECURE_PREFIXES.some((p) => name.startsWith(p));
  let out = `${name}=${value}; Path=/; Max-Age=${maxAgeSeconds}; SameSite=Lax`;
  if (sticky.httpOnly) out += '; HttpOnly';
  if (secure) out += '; Secure';
  return `${out}; Priority=High`;
}

/**
 * True when sticky cookies carry `Secure` for this request: always, or on TLS with `auto`.
 *
 * @example
 * ```ts
 * isSecure(resolved.sticky, request.url.startsWith('https:'));
 * ```
 */
export function isSecure(sticky: Pick<ResolvedSticky, 'secure'>, tls: boolean): boolean {
  return sticky.secure === true || (sticky.secure === 'auto' && tls);
}

/** Cookie values we write: versions, signed tokens, UUIDs — never request-derived text (CK-07). */
const COOKIE_VALUE = /^[A-Za-z0-9._-]{1,256}$/;

/**
 * True when `value` may be written into a `Set-Cookie` header.
 *
 * @example
 * ```ts
 * isSafeCookieValue('beta');       // true
 * isSafeCookieValue('beta\r\nX:'); // false
 * ```
 */
export function isSafeCookieValue(value: string): boolean {
  return COOKIE_VALUE.test(value);
}
