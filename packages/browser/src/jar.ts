import Cookies from 'js-cookie';
import type { CookieSettings } from './options.js';
import { readPairs } from './read.js';

/** @internal One persisted value: read, write (overwrite), remove. Never throws. */
export interface Slot {
  /** The stored value, `null` when two cookies of the name disagree (CK-02), else `undefined`. */
  read(): string | null | undefined;
  write(value: string): void;
  remove(): void;
}

/**
 * @internal A cookie slot written with js-cookie: `Path=/`, `SameSite=Lax`, `Secure` + `__Host-`
 * on https (`__Secure-` when a Domain is set), `Max-Age` clamped (BC-01…06). When cookies are
 * unavailable (disabled, sandboxed iframe) it keeps the value in memory for the page (BC-05).
 */
export function createSlot(base: string, settings: CookieSettings | undefined): Slot {
  let memory: string | undefined;
  const secure = location.protocol === 'https:';
  const name = (secure ? (settings?.domain ? '__Secure-' : '__Host-') : '') + base;
  const attrs = { path: '/', domain: settings?.domain, samesite: 'Lax', secure };
  const get = (n: string): string | null | undefined => readPairs(document.cookie, ';', n);
  const tryCookie = <T>(fn: () => T): T | undefined => {
    try {
      return settings && fn();
    } catch {
      return undefined;
    }
  };
  return {
    // A server that set the unprefixed name (its default) is read as a fallback on https.
    read: () =>
      memory ?? tryCookie(() => (secure && get(name) === undefined ? get(base) : get(name))),
    write(value) {
      tryCookie(() => Cookies.set(name, value, { ...attrs, 'max-age': String(settings?.maxAge) }));
      memory = tryCookie(() => get(name)) === value ? undefined : value;
    },
    remove() {
      memory = undefined;
      // Without Max-Age, so js-cookie's past Expires deletes it (Max-Age would win, RFC 6265 §5.3).
      tryCookie(() => Cookies.remove(name, attrs));
    },
  };
}
