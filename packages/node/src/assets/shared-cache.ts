import type { ServerResponse } from 'node:http';
import { privateCacheControl } from '@graylane/core';
import type { IMMUTABLE_CACHE_CONTROL, REVALIDATE_CACHE_CONTROL } from './limits.js';
import { LANE_CACHE_CONTROL } from './limits.js';

type SetHeader = (name: string, value: number | string | readonly string[]) => unknown;

/** A `Cache-Control` of a file shared by every lane: a year, or revalidated on every use. */
export type SharedCacheControl = typeof IMMUTABLE_CACHE_CONTROL | typeof REVALIDATE_CACHE_CONTROL;

/**
 * Sets the `Cache-Control` of a file shared by every lane (`shared`: a year, or revalidated):
 * shared caches may keep it (`public`), unless the response sets a cookie. The graylane
 * middleware's sticky cookie goes out on whatever request first reaches a new visitor, an asset
 * too; a CDN that stored that response would hand the cookie, and with it one visitor's lane, to
 * everyone. Then the file is `private` (the same lifetime, in the browser only) and the cookie is
 * kept.
 *
 * The cookie may come later than this call: graylane puts its cookies back at `writeHead`
 * (inbound/node-response.ts), and session middleware (`on-headers`) adds its own there. Every
 * one of those, and Node's own `writeHead(status, headers)`, goes through the response's
 * `setHeader`/`appendHeader` before the head is built, so those two are wrapped on this response:
 * the first cookie turns `public` into `private` while the head can still change.
 */
export function setSharedCacheControl(res: ServerResponse, shared: SharedCacheControl): void {
  // Core's rewrite (STK-06): `IMMUTABLE_PRIVATE_CACHE_CONTROL`, or `LANE_CACHE_CONTROL`.
  const privately = privateCacheControl(shared) ?? LANE_CACHE_CONTROL;
  if (hasCookie(res)) {
    res.setHeader('Cache-Control', privately);
    return;
  }
  res.setHeader('Cache-Control', shared);
  for (const method of ['setHeader', 'appendHeader'] as const) {
    const original = res[method] as SetHeader | undefined;
    if (typeof original !== 'function') continue;
    (res as unknown as Record<string, SetHeader>)[method] = function graylaneCookieGuard(
      this: ServerResponse,
      name,
      value,
    ) {
      const out = original.call(this, name, value);
      if (isSetCookie(name)) keepPrivate(res, shared, privately);
      return out;
    };
  }
}

function keepPrivate(res: ServerResponse, shared: string, privately: string): void {
  try {
    if (!res.headersSent && hasCookie(res) && res.getHeader('cache-control') === shared)
      res.setHeader('Cache-Control', privately);
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
