import type { CookieAttributes, CookieJarLike } from './cookie-jar.js';
import type { CookieSettings } from './options.js';

/** @internal One persisted value: read, write (overwrite), remove. Never throws. */
export interface Slot {
  /** The stored value (`,` when two cookies of the name disagree, CK-02), else `undefined`. */
  read(): string | undefined;
  write(value: string): void;
  remove(): void;
}

/**
 * @internal A cookie slot written through `jar`: `Path=/`, `SameSite=Lax`, `Secure` + `__Host-`
 * on https pages (`secure`; `__Secure-` when a Domain is set), `Max-Age` clamped (BC-01…06).
 * When cookies are unavailable (disabled, sandboxed iframe: the jar throws) or `settings` is
 * `undefined` (`cookie: false`, or no page during SSR), it keeps the value in memory (BC-05).
 */
export function createSlot(
  base: string,
  settings: CookieSettings | undefined,
  jar: CookieJarLike,
  secure: boolean,
): Slot {
  let memory: string | undefined;
  const name = (secure ? (settings?.domain ? '__Secure-' : '__Host-') : '') + base;
  const attrs: CookieAttributes = {
    path: '/',
    domain: settings?.domain,
    sameSite: 'Lax',
    secure,
    maxAge: settings?.maxAge ?? 0,
  };
  const tryJar = <T>(fn: () => T): T | undefined => {
    try {
      return settings && fn();
    } catch {
      return undefined;
    }
  };
  return {
    // A server that set the unprefixed name (its default) is read as a fallback on https.
    read: () => memory ?? tryJar(() => jar.get(name) ?? (secure ? jar.get(base) : undefined)),
    write(value) {
      tryJar(() => jar.set(name, value, attrs));
      memory = tryJar(() => jar.get(name)) === value ? undefined : value;
    },
    remove() {
      memory = undefined;
      tryJar(() => jar.remove(name, attrs));
    },
  };
}
