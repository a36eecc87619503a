import { readPairs } from './read.js';

/** How graylane writes its cookies: always `Path=/`, `SameSite=Lax`, a bounded `Max-Age`. */
export interface CookieAttributes {
  readonly path: '/';
  /** Set only with `cookie.domain` (the name then gets `__Secure-`, not `__Host-`). */
  readonly domain?: string | undefined;
  readonly sameSite: 'Lax';
  /** `true` on https pages (required by the `__Host-`/`__Secure-` prefixes). */
  readonly secure: boolean;
  /** Seconds, already clamped to 30 days (BC-06). Ignored by `remove`. */
  readonly maxAge: number;
}

/**
 * Cookie persistence used by `initGray` (option `cookies`). Values are validated version tokens
 * and 32-hex ids, so no encoding is needed. Methods may throw (sandboxed iframe, disabled
 * cookies): graylane catches and keeps the value in memory for the page (BC-05).
 *
 * @example
 * ```ts
 * import { jsCookieJar } from '@graylane/browser/js-cookie';
 * initGray({ versions: ['stable', 'beta'], default: 'stable', cookies: jsCookieJar });
 * ```
 */
export interface CookieJarLike {
  /**
   * The value of `name`, or `undefined` when absent. When it cannot be told (several cookies of
   * the name disagree, CK-02), return anything that is not a version, e.g. `,`: graylane then
   * ignores it as `invalid_marker` and removes its own cookie.
   */
  get(name: string): string | undefined;
  /** Writes (overwrites) one cookie. */
  set(name: string, value: string, attributes: CookieAttributes): void;
  /** Deletes the cookie written by `set` with the same `path`, `domain` and `secure`. */
  remove(name: string, attributes: CookieAttributes): void;
}

/**
 * @internal The default jar: `document.cookie` directly, since graylane's values need none of
 * js-cookie's encoding. Reads are bounded and report conflicts (`readPairs`); writes produce
 * `name=value; Path=/; Max-Age=…; SameSite=Lax[; Secure][; Domain=…]`. Callers catch throws.
 */
export const documentCookieJar: CookieJarLike = {
  get: (name) => readPairs(document.cookie, ';', name),
  set(name, value, a) {
    document.cookie =
      // Path and SameSite are the only values their types allow.
      `${name}=${value}; Path=/; Max-Age=${a.maxAge}; SameSite=Lax` +
      (a.secure ? '; Secure' : '') +
      (a.domain ? `; Domain=${a.domain}` : '');
  },
  // Max-Age=0 deletes at once (RFC 6265 §5.2.2); Path/Domain/Secure must match the write.
  remove: (name, a) => documentCookieJar.set(name, '', { ...a, maxAge: 0 }),
};
