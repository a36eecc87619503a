import type { ServerResponse } from 'node:http';
import { IMMUTABLE_CACHE_CONTROL, IMMUTABLE_PRIVATE_CACHE_CONTROL } from './limits.js';

type SetHeader = (name: string, value: number | string | readonly string[]) => unknown;

/**
 * Sets the `Cache-Control` of a content-hashed file: shared caches may keep it for a year
 * (`public`), unless the response sets a cookie. The graylane middleware's sticky cookie goes
 * out on whatever request first reaches a new visitor, an asset too; a CDN that stored that
 * response would hand the cookie, and with it one visitor's lane, to everyone. Then the file is
 * `private` (still a year, still `immutable`, in the browser only) and the cookie is kept.
 *
 * The cookie may come later than this call: graylane puts its cookies back at `writeHead`
 * (inbound/node-response.ts), and session middleware (`on-headers`) adds its own there. Every
 * one of those, and Node's own `writeHead(status, headers)`, goes through the response's
 * `setHeader`/`appendHeader` before the head is built, so those two are wrapped on this response:
 * the first cookie turns `public` into `private` while the head can still change.
 */
export function setImmutableCacheControl(res: ServerResponse): void {
  if (hasCookie(res)) {
    res.setHeader('Cache-Control', IMMUTABLE_PRIVATE_CACHE_CONTROL);
    return;
  }
  res.setHeader('Cache-Control', IMMUTABLE_CACHE_CONTROL);
  for (const method of ['setHeader', 'appendHeader'] as const) {
    const original = res[method] as SetHeader | undefined;
    if (typeof original !== 'function') continue;
    (res as unknown as Record<string, SetHeader>)[method] = function graylaneCookieGuard(
      this: ServerResponse,
      name,
      value,
    ) {
      const out = original.call(this, name, value);
      if (isSetCookie(name)) keepPrivate(res);
      return out;
    };
  }
}

function keepPrivate(res: ServerResponse): void {
  try {
    if (
      !res.headersSent &&
      hasCookie(res) &&
      res.getHeader('cache-control') === IMMUTABLE_CACHE_CONTROL
    )
      res.setHeader('Cache-Control', IMMUTABLE_PRIVATE_CACHE_CONTROL);
  } catch {
    // I1: never throw into the app's setHeader; the head goes out as it was.
  }
}

function isSetCookie(name: unknown): boolean {
  return typeof name === 'string' && name.toLowerCase() === 'set-cookie';
}

function hasCookie(res: ServerResponse): boolean {
  const value = res.getHeader('set-cookie');
  if (value === undefined) return false;
  return Array.isArray(value) ? value.length > 0 : String(value) !== '';
}
