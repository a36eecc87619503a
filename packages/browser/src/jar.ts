import { MAX_COOKIE_MAX_AGE_SECONDS as MAX_AGE } from '@graylane/core';
import { defaultCookieJar, type CookieAttributes } from './cookie-jar.js';
import { hasPage } from './env.js';
import { fail, type GrayCookieOptions, type GrayOptions } from './options.js';

/**
 * A cookie base name js-cookie writes as it is: an RFC 6265 token without `%` (js-cookie
 * percent-encodes `%` and every non-token character, and names are read raw, so the page would
 * never read the cookie back), not one of the prefixes graylane adds (a browser refuses a
 * `__Host-`/`__Secure-`/`__Http-` name on http), short enough that its `__Secure-` prefix and a
 * 32-byte value fit the 4096 bytes a browser keeps.
 */
const NAME = /^(?!__(host|secure|http)-)[\w!#$&'*+.^`|~-]{1,4055}$/i;

/** @internal One persisted value: read, write (overwrite), remove. Never throws. */
export interface Slot {
  /** The stored value (`,` when two cookies of the name disagree, CK-02), else `undefined`. */
  read(): string | undefined;
  /**
   * False when the jar took the write without error and still reads another value: a cookie of
   * the name the page cannot overwrite (the server's `HttpOnly` one) or cookies refused. The
   * value is then kept in memory for this page, as when the jar is unavailable (BC-05).
   */
  write(value: string): boolean;
  /**
   * Writes `value` to the jar only (never to memory): true when the jar reads it back, so it
   * outlives the page view; false when cookies are off, refused, dropped or the jar throws.
   */
  keep(value: string): boolean;
  remove(): void;
}

/**
 * @internal The cookie `o.cookie[key]` (default `base`) written through `o.cookies` (default
 * js-cookie): `Path=/`, `SameSite=Lax`, `Secure` + `__Host-` on https pages (`__Secure-` when a
 * Domain is set), `Max-Age` clamped to 30 days (BC-01…06). When cookies are unavailable
 * (disabled, sandboxed iframe: the jar throws), with `cookie: false`, or without a page (SSR), it
 * keeps the value in memory (BC-05).
 *
 * It reads the names a server reads, in the server's order (core `markerCookieNames`:
 * `__Host-`, `__Secure-`, plain): the first one present decides, ambiguous or invalid, and the
 * rest are not read — so the page and a request that carries only the cookie (a navigation,
 * `sendBeacon`) get one version (review 173 D3). Only its own name tells its own cookie from
 * another of the name (CK-02).
 */
export function createSlot(o: GrayOptions, key: 'name' | 'anonymousIdName', base: string): Slot {
  const on = hasPage() && o.cookie !== false;
  const c: GrayCookieOptions = o.cookie || {};
  const jar = o.cookies ?? defaultCookieJar();
  const secure = on && location.protocol == 'https:';
  base = c[key] ?? base;
  // Checked at init, in a page and during SSR alike.
  if (!NAME.test(base)) fail(`cookie.${key} "${base}"`);
  // One cookie for both (names are case-sensitive; both get the same prefix) would hold whichever
  // was written last: the anonymous id read as an invalid version, a QA choice as an invalid id.
  if (key != 'name' && base == (c.name ?? 'gray')) fail(`cookie.name = cookie.${key} "${base}"`);
  // The names a server reads, in its order: core's `markerCookieNames(base)` (`base` has no
  // prefix), written out — the core function's prefix check would cost the bundle for nothing.
  const names = ['__Host-', '__Secure-', ''].map((p) => p + base);
  // The page's own name: `__Host-` (https), `__Secure-` (https + Domain), plain (http).
  const own = secure ? (c.domain ? 1 : 0) : 2;
  const name = names[own] as string;
  // Read as a number (`'60'` too); `Infinity` is clamped as documented (review 77 D3).
  const age = Number(c.maxAgeSeconds ?? MAX_AGE);
  // A second or more: `0`, a negative, `0.5`, `NaN`, `'abc'` made `Max-Age=0`, so nothing
  // persisted (review 69 N3).
  if (!(age >= 1)) fail('cookie.maxAgeSeconds');
  const attrs: CookieAttributes = {
    path: '/',
    domain: c.domain,
    sameSite: 'Lax',
    secure,
    // Whole seconds in [1, 30 days] (BC-06).
    maxAge: Math.min(MAX_AGE, age) | 0,
  };
  // Deletes name `i`: its own with its attributes only (another cookie of its own name is never
  // touched, CK-02); another name where the page sees one (no blind writes), as graylane writes
  // it: host-only (a server's sticky cookie, `__Host-`) and with the page's Domain. Another
  // name is always a prefixed one or a page on https: `Secure`. What is not the page's to
  // delete — another domain's, `HttpOnly` — stays.
  const drop = (i: number) => {
    const n = names[i] as string;
    if (i == own) jar.remove(n, attrs);
    else if (jar.get(n) !== undefined)
      for (const domain of [undefined, c.domain]) jar.remove(n, { ...attrs, domain, secure: true });
  };
  let memory: string | undefined;
  const tryJar = <T>(fn: () => T): T | undefined => {
    try {
      return on ? fn() : undefined;
    } catch {
      return undefined;
    }
  };
  // Its own name read with the attributes it is written with: the page's own cookie, CK-02.
  const fromJar = () =>
    tryJar(() =>
      names.reduce<string | undefined>(
        (found, n, i) => found ?? jar.get(n, i == own ? attrs : undefined),
        undefined,
      ),
    );
  const store = (value: string) =>
    tryJar(() => {
      // Every name read before its own (https + Domain: `__Host-`; http: both prefixed ones,
      // which Chromium shows http://localhost too) is read first, by the page and the server
      // alike: where the page sees one, it can delete it, and it goes, or it would hide the
      // value (review 69 D3).
      for (let i = own; i--;) drop(i);
      jar.set(name, value, attrs);
      return fromJar() === value;
    });
  return {
    read: () => memory ?? fromJar(),
    write(value) {
      memory = value;
      // undefined (no jar, or it threw): kept in memory by design.
      const stored = store(value);
      if (stored) memory = undefined;
      return stored ?? true;
    },
    keep: (value) => store(value) === true,
    remove() {
      memory = undefined;
      // Every name it reads, so that neither the page nor the server reads the old value back
      // (review 173 D4: a server's plain `gray` outlived a clear on https).
      tryJar(() => [0, 1, 2].forEach(drop));
    },
  };
}
