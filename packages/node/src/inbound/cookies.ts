import type { ResolvedSticky } from './resolve.js';

/** Cookie-name prefixes that require `Secure` (RFC 6265bis §4.1.3). */
const SECURE_PREFIXES = ['__Host-', '__Secure-'];

/**
 * Formats one `Set-Cookie` value with the safe attributes: `Path=/`, `Max-Age` ≤ 30 days,
 * `SameSite=Lax`, `HttpOnly` unless disabled, `Secure` on TLS (or always, or for prefixed names).
 * `value` must already be a safe cookie-octet string (a version, a signed token or a UUID).
 */
export function formatSetCookie(
  name: string,
  value: string,
  sticky: ResolvedSticky,
  tls: boolean,
): string {
  const secure =
    sticky.secure === true ||
    (sticky.secure === 'auto' && tls) ||
    SECURE_PREFIXES.some((p) => name.startsWith(p));
  let out = `${name}=${value}; Path=/; Max-Age=${sticky.maxAgeSeconds}; SameSite=Lax`;
  if (sticky.httpOnly) out += '; HttpOnly';
  if (secure) out += '; Secure';
  return out;
}

/** Cookie values we write: versions, signed tokens, UUIDs — never request-derived text (CK-07). */
const COOKIE_VALUE = /^[A-Za-z0-9._-]{1,256}$/;

/** True when `value` may be written into a `Set-Cookie` header. */
export function isSafeCookieValue(value: string): boolean {
  return COOKIE_VALUE.test(value);
}
