import Cookies from 'js-cookie';
import { createJsCookieJar, type CookieJarLike } from './cookie-jar.js';

/**
 * Compatibility export (0.1): js-cookie is now the default cookie layer of `initGray`, so passing
 * this jar changes nothing. It is the same jar `initGray` uses, on js-cookie's default `Cookies`.
 *
 * @example
 * ```ts
 * import { initGray } from '@graylane/browser';
 * import { jsCookieJar } from '@graylane/browser/js-cookie';
 * initGray({ versions: ['stable', 'beta'], default: 'stable', cookies: jsCookieJar });
 * ```
 */
export const jsCookieJar: CookieJarLike = /* @__PURE__ */ createJsCookieJar(Cookies);

export { createJsCookieJar } from './cookie-jar.js';
export type {
  CookieAttributes,
  CookieJarLike,
  JsCookieAttributes,
  JsCookieLike,
} from './cookie-jar.js';
