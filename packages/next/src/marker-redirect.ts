import { NextResponse, type NextRequest } from 'next/server.js';
import { applyQueryEdit, type QueryEdit } from '@graylane/core';

/**
 * 307: the client asks again with the same method and body (a 303 would turn a POST or a server
 * action into a GET), and no cache keeps it (a 308 is cacheable by default): another request may
 * carry no marker at all.
 */
export const MARKER_REDIRECT_STATUS = 307;

/**
 * @internal Where the client is sent when its request URL carries a query marker the decision
 * removes (GW-01/02: in `edge` mode every spelling of `gray`; elsewhere one rejected, overridden
 * or, in `signed` mode, a bare label), or undefined when it carries none.
 *
 * Next cannot hand the app a URL without it in-process: after a proxy rewrite to the same origin
 * a route handler's `request.url` and `request.nextUrl` are still the URL the client sent (the
 * route module builds its `NextRequest` from the Node request's `url`; only pages read the
 * rewritten query), a client component's `useSearchParams()` renders it on the server and reads it
 * from the address bar in the browser — and whether Next takes a rewrite to the proxy's own origin
 * in-process or as an external proxy hop depends on how it was started (`-H`). So the URL itself
 * goes: the client asks again without it, whatever the method or how Next was started.
 *
 * An edit that also writes the decided label in (a signed token turned into the plain label the
 * app reads) is not redirected: the token decides, the client must keep sending it. That edit
 * stays an internal rewrite (pages see the label; a route handler sees the client's spelling).
 */
export function markerFreeUrl(
  request: NextRequest,
  query: QueryEdit | undefined,
): string | undefined {
  if (query === undefined || query.append !== undefined) return undefined;
  const from = request.nextUrl.href;
  const to = applyQueryEdit(from, query);
  return to === from ? undefined : to;
}

/**
 * @internal The redirect to `url` (same origin: Next sends a relative `Location`, so a client
 * behind another host name or a proxy follows it on the URL it used), with `headers` (the sticky
 * cookies and the debug header of the decision, which the next request then reuses).
 */
export function redirectTo(url: string, headers?: Headers): NextResponse {
  return NextResponse.redirect(url, {
    status: MARKER_REDIRECT_STATUS,
    ...(headers ? { headers } : {}),
  });
}
