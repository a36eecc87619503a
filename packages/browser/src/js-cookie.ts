import Cookies from 'js-cookie';
import type { CookieAttributes, CookieJarLike } from './cookie-jar.js';

/** Attributes as js-cookie takes them (its `CookieAttributes`, kept structural). */
export type JsCookieAttributes = Readonly<Record<string, string | boolean | undefined>>;

/**
 * The part of the js-cookie API graylane uses (`Cookies`, or an instance from `withAttributes` /
 * `withConverter`), structural so this subpath needs no js-cookie types.
 */
export interface JsCookieLike {
  get(name: string): string | undefined;
  set(name: string, value: string, attributes?: JsCookieAttributes): unknown;
  remove(name: string, attributes?: JsCookieAttributes): void;
  withConverter(converter: { read: (value: string, name: string) => string }): JsCookieLike;
}

/**
 * A {@link CookieJarLike} on a js-cookie instance, for apps that already ship js-cookie. Writes
 * `name=value; path=/; samesite=Lax; max-age=…[; domain=…][; secure]`; removes with js-cookie's
 * past `expires` (no `max-age`, which would win, RFC 6265 §5.3). Reads are raw, like the built-in
 * jar and the server: no percent-decoding (an escape fails validation, CK-03), one DQUOTE pair
 * stripped (CK-04). Unlike the built-in jar, js-cookie returns the first of several cookies of
 * a name rather than reporting the conflict (CK-02).
 *
 * @example
 * ```ts
 * import Cookies from 'js-cookie';
 * import { createJsCookieJar } from '@graylane/browser/js-cookie';
 * const cookies = createJsCookieJar(Cookies.withAttributes({ partitioned: true }));
 * initGray({ versions: ['stable', 'beta'], default: 'stable', cookies });
 * ```
 */
export function createJsCookieJar(cookies: JsCookieLike): CookieJarLike {
  const raw = cookies.withConverter({ read: (v) => (/^".*"$/.test(v) ? v.slice(1, -1) : v) });
  const attributes = (a: CookieAttributes): Record<string, string | boolean | undefined> => ({
    path: a.path,
    domain: a.domain,
    samesite: a.sameSite,
    secure: a.secure,
  });
  return {
    get: (name) => raw.get(name),
    set: (name, value, a) =>
      void raw.set(name, value, { ...attributes(a), 'max-age': String(a.maxAge) }),
    remove: (name, a) => raw.remove(name, attributes(a)),
  };
}

/**
 * The cookie jar on js-cookie's default `Cookies` (js-cookie is an optional peer dependency).
 *
 * @example
 * ```ts
 * import { initGray } from '@graylane/browser';
 * import { jsCookieJar } from '@graylane/browser/js-cookie';
 * initGray({ versions: ['stable', 'beta'], default: 'stable', cookies: jsCookieJar });
 * ```
 */
export const jsCookieJar: CookieJarLike = /* @__PURE__ */ createJsCookieJar(Cookies);

export type { CookieAttributes, CookieJarLike } from './cookie-jar.js';
