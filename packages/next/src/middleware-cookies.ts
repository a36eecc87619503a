import { NextResponse } from 'next/server.js';

/**
 * Next's internal response header through which cookies a proxy sets reach `cookies()` on the
 * same request (next/dist/server/web/spec-extension/response.js writes it on
 * `response.cookies.set()`; lib/router-utils/resolve-routes.js moves it from the proxy's response
 * to the request; async-storage/request-store.js `mergeMiddlewareCookies` reads it).
 */
export const MIDDLEWARE_SET_COOKIE = 'x-middleware-set-cookie';

/**
 * @internal The `x-middleware-set-cookie` value Next writes for a proxy response that sets
 * `setCookies`, or undefined when there is none or this Next has no such hand-over (it predates
 * it: the header would then reach the browser instead). Next computes it: a scratch response
 * holding the cookies has one of them set again through `response.cookies`, whose proxy writes
 * the header for all of them — Next's format and encoding, whatever its version. The real
 * response keeps graylane's `Set-Cookie` values byte for byte. Never throws.
 */
export function middlewareSetCookie(setCookies: readonly string[]): string | undefined {
  if (setCookies.length === 0) return undefined;
  try {
    const headers = new Headers();
    for (const cookie of setCookies) headers.append('set-cookie', cookie);
    const scratch = new NextResponse(null, { headers });
    const first = scratch.cookies.getAll()[0];
    if (first === undefined) return undefined;
    scratch.cookies.set(first);
    return scratch.headers.get(MIDDLEWARE_SET_COOKIE) ?? undefined;
  } catch {
    return undefined;
  }
}
