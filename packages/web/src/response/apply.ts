import { privateHeaderFields } from '@graylane/core';
import { DEBUG_HEADER } from '../limits.js';

/** The part of an outcome that is written to a response. */
export interface ResponseWrites {
  /** `Set-Cookie` values (sticky cookies). */
  readonly setCookies: readonly string[];
  /** The `X-Gray-Decision` value when `debugHeader` is on. */
  readonly debugHeader: string | undefined;
}

/**
 * Adds the sticky `Set-Cookie` values and the debug header to `response`, keeping the cookies
 * it already sets; a cookie of the same name already on it wins (the app's own, or this outcome
 * applied before: applying twice changes nothing). A response with immutable headers (from
 * `fetch`, `Response.redirect`) is copied first; the returned response is the one to send.
 * Never throws (I1): a response that cannot take headers (`Response.error()`, a used body) is
 * returned unchanged, and so is any response when `writes` is not an outcome (plain JS).
 *
 * @example
 * ```ts
 * const outcome = await gray.decide(request);
 * return applyOutcome(await render(request, outcome.decision.version), outcome);
 * ```
 */
export function applyOutcome(response: Response, writes: ResponseWrites): Response {
  if (!writes?.setCookies?.length && writes?.debugHeader === undefined) return response;
  try {
    write(response.headers, writes);
    return response;
  } catch {
    // Immutable headers: copy the response (status, headers and the body stream) and retry.
  }
  try {
    const copy = new Response(response.body, response);
    write(copy.headers, writes);
    return copy;
  } catch {
    return response;
  }
}

/**
 * @internal Writes the cookies and the debug header onto mutable `headers`; throws if immutable.
 * STK-06: headers that then carry one of the sticky cookies get a `Cache-Control` no shared
 * cache may store (core's `privateCacheControl`: whatever the handler or an upstream set, or
 * `private` when none), and every targeted field a CDN reads instead (`CDN-Cache-Control`,
 * `Surrogate-Control`…, RFC 9213) says `no-store` (core's `targetedNoStore`), so a CDN never
 * hands one visitor's id and lane to the next.
 */
export function write(headers: Headers, writes: ResponseWrites): void {
  const names = (headers.getSetCookie?.() ?? []).map(cookieName);
  for (const cookie of writes.setCookies)
    if (!names.includes(cookieName(cookie))) headers.append('set-cookie', cookie);
  if (writes.debugHeader !== undefined) headers.set(DEBUG_HEADER, writes.debugHeader);
  for (const [name, value] of privateHeaderFields(headers, writes.setCookies))
    headers.set(name, value);
}

const cookieName = (cookie: string): string => cookie.split('=')[0]!.trim();
