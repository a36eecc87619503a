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
  const name = (secure ? (c.domain ? '__Secure-' : '__Host-') : '') + base;
  const attrs: CookieAttributes = {
    path: '/',
    domain: c.domain,
    sameSite: 'Lax',
    secure,
    // Whole seconds in [0, 30 days]; NaN and negatives are 0 (BC-06).
    maxAge: Math.max(0, Math.min(MAX_AGE, c.maxAgeSeconds ?? MAX_AGE) | 0),
  };
  let memory: string | undefined;
  const tryJar = <T>(fn: () => T): T | undefined => {
    try {
      return on ? fn() : undefined;
    } catch {
      return undefined;
    }
  };
  // Read back with the attributes it was written with: the page's own cookie, CK-02.
  const store = (value: string) =>
    tryJar(() => (jar.set(name, value, attrs), jar.get(name, attrs) === value));
  return {
    // A server that set the unprefixed name (its default) is read as a fallback on https.
    read: () =>
      memory ?? tryJar(() => jar.get(name, attrs) ?? (secure ? jar.get(base) : undefined)),
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
      tryJar(() => jar.remove(name, attrs));
    },
  };
}
