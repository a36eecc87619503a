import Cookies from 'js-cookie';
import { MAX_RAW_MARKER_BYTES } from '@graylane/core';
import { AMBIGUOUS, cookieValues, scanCookies } from './read.js';

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
 * const memory = new Map<string, string>();
 * const cookies: CookieJarLike = {
 *   get: (name) => memory.get(name),
 *   set: (name, value) => void memory.set(name, value),
 *   remove: (name) => void memory.delete(name),
 * };
 * initGray({ versions: ['stable', 'beta'], default: 'stable', cookies });
 * ```
 */
export interface CookieJarLike {
  /**
   * The value of `name`, or `undefined` when absent. `attributes` (omitted for a name graylane
   * only reads) are those graylane writes `name` with: when several cookies of the name disagree
   * (CK-02: one set for a parent domain, or host-only beside graylane's `domain` one), return the
   * one written with them, graylane's own; when none is, or it cannot be told, return anything
   * that is not a version, e.g. `,`: graylane then ignores it as `invalid_marker`.
   */
  get(name: string, attributes?: CookieAttributes): string | undefined;
  /** Writes (overwrites) one cookie. */
  set(name: string, value: string, attributes: CookieAttributes): void;
  /** Deletes the cookie written by `set` with the same `path`, `domain` and `secure`. */
  remove(name: string, attributes: CookieAttributes): void;
}

/** Attributes as js-cookie takes them (its `CookieAttributes`, kept structural). */
export type JsCookieAttributes = Readonly<Record<string, string | boolean | undefined>>;

/**
 * The part of the js-cookie API graylane uses (`Cookies`, or an instance from `withAttributes` /
 * `withConverter`), structural so no js-cookie types are needed.
 */
export interface JsCookieLike {
  set(name: string, value: string, attributes?: JsCookieAttributes): unknown;
  remove(name: string, attributes?: JsCookieAttributes): void;
}

/**
 * A {@link CookieJarLike} on a js-cookie instance; `initGray` uses one on js-cookie's default
 * `Cookies` unless you pass `cookies`. js-cookie writes and removes:
 * `name=value; path=/; sameSite=Lax; secure; max-age=…; priority=High` (`domain=…` with
 * `cookie.domain`; no `secure` on http), removal by a past `expires`, at `/` and at every longer
 * path this page can see. Reads are graylane's own, around js-cookie, like the server's: raw (an
 * escape fails validation, CK-03), one DQUOTE pair stripped (CK-04), two values of the name reported as a
 * conflict (CK-02, which js-cookie's first-wins read would hide), no size cap (the browser caps
 * its jar; STK-04). On a conflict, cookies of the name at the longer paths this page can see
 * (a server that set `gray` on `/app`) are deleted and the jar is read again: graylane's own
 * cookie is always `Path=/`. If values still disagree (a cookie for a parent domain), graylane's
 * own cookie wins: removed and read again, the value that went away is its own, written back at
 * once (its lifetime restarts); the others are never touched. None of its own: a conflict.
 *
 * @example
 * ```ts
 * import Cookies from 'js-cookie';
 * import { createJsCookieJar } from '@graylane/browser';
 * const cookies = createJsCookieJar(Cookies.withAttributes({ partitioned: true }));
 * initGray({ versions: ['stable', 'beta'], default: 'stable', cookies });
 * ```
 */
export function createJsCookieJar(cookies: JsCookieLike): CookieJarLike {
  // Attribute names are case-insensitive (RFC 6265 §5.2): `sameSite` passes through as is.
  // Priority=High: Chromium evicts graylane's cookies last when a host passes 180 (STK-04).
  const set: CookieJarLike['set'] = (name, value, { maxAge, ...a }) =>
    void cookies.set(name, value, { ...a, 'max-age': '' + maxAge, priority: 'High' });
  // STK-04: every cookie path this page can see is a prefix of its path; `/` (ours) goes first.
  const paths = (): Set<string> => {
    const path = typeof location == 'object' ? location.pathname : '';
    const all = new Set(['/']);
    for (let i = 2; i <= path.length; i++)
      if (i === path.length || path[i] === '/') all.add(path.slice(0, i)).add(path.slice(0, i + 1));
    return all;
  };
  // At every path the page sees: a copy left on `/app` would be read back (review 173 D4).
  const remove: CookieJarLike['remove'] = (name, { maxAge: _ignored, ...a }) => {
    for (const path of paths()) cookies.remove(name, { ...a, path });
  };
  return {
    get(name, attributes) {
      let found = scanCookies(name);
      if (found !== AMBIGUOUS) return found;
      for (const path of paths()) if (path != '/') cookies.remove(name, { path });
      found = scanCookies(name);
      // CK-02: another cookie of the name at Path=/ — for a parent domain (a sibling app, an
      // older deploy), or host-only beside a `domain` one — which the page's writes can neither
      // overwrite nor delete. Only the cookie written with `attributes` is the page's: the value
      // that goes when that one is removed. It is written back at once; the others stay as they
      // are. One over-long value is invalid, not a conflict.
      const all = found === AMBIGUOUS && attributes ? cookieValues(name) : [];
      if (!attributes || all.length < 2) return found;
      remove(name, attributes);
      // What is left is what the page cannot touch; `>>> 0` makes a miss (-1) splice nothing.
      for (const v of cookieValues(name)) all.splice(all.indexOf(v) >>> 0, 1);
      // An over-long value (a server's signed token) is not written back: never a sentinel, and
      // never a token's short lifetime made 30 days; it stays removed, as an invalid one is.
      const own = all[0];
      if (all.length !== 1 || (own as string).length > MAX_RAW_MARKER_BYTES) return AMBIGUOUS;
      set(name, own as string, attributes);
      return own;
    },
    set,
    remove,
  };
}

/** @internal The default jar: js-cookie's `Cookies` behind {@link createJsCookieJar}. */
export const defaultCookieJar = (): CookieJarLike => createJsCookieJar(Cookies);
