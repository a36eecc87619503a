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
 * app reads) keeps the token: the token decides, the client must keep sending it. When the URL
 * holds nothing else to remove, that edit stays an internal rewrite (pages see the label; a route
 * handler sees the token as sent). When it also holds another spelling (`?gray=<token>&GRAY=beta`,
 * a marker to a next hop that reads keys without case), the client is sent to the URL without
 * the other spellings and with the token's own pair, written as it was, last.
 */
export function markerFreeUrl(
  request: NextRequest,
  query: QueryEdit | undefined,
): string | undefined {
  if (query === undefined) return undefined;
  const from = request.nextUrl.href;
  if (query.append === undefined) {
    const to = applyQueryEdit(from, query);
    return to === from ? undefined : to;
  }
  // The token's pair as the client wrote it (the key exactly the marker's name), and the URL
  // without it: if removing every spelling from that changes nothing, there is nothing else.
  const [name] = query.append;
  const { base, pairs, hash } = splitQuery(from);
  const own = pairs.filter((p) => p.startsWith(`${name}=`));
  if (own.length === 0) return undefined;
  // Up to a `;`: what follows one is another parameter to a reader that splits there.
  const token = (own[0] as string).split(';', 1)[0] as string;
  const rest = joinQuery(
    base,
    pairs.filter((p) => !p.startsWith(`${name}=`)),
    '',
  );
  const remove: QueryEdit = {
    remove: query.remove,
    append: undefined,
    semicolons: query.semicolons,
  };
  const clean = applyQueryEdit(rest, remove);
  if (clean === rest && own.every((p) => p === token)) return undefined;
  const kept = splitQuery(clean);
  if (kept.pairs.at(-1) === '') kept.pairs.pop();
  return joinQuery(kept.base, [...kept.pairs, token], hash);
}

/** A URL's text before its query, the query's `&` pieces (empty ones too), its fragment. */
function splitQuery(url: string): { base: string; pairs: string[]; hash: string } {
  const h = url.indexOf('#');
  const hash = h === -1 ? '' : url.slice(h);
  const head = h === -1 ? url : url.slice(0, h);
  const q = head.indexOf('?');
  if (q === -1) return { base: head, pairs: [], hash };
  return {
    base: head.slice(0, q),
    pairs: head.slice(q + 1).split('&'),
    hash,
  };
}

function joinQuery(base: string, pairs: readonly string[], hash: string): string {
  return `${base}${pairs.length > 0 ? `?${pairs.join('&')}` : ''}${hash}`;
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
