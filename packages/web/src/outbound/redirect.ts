/** Statuses the Fetch standard follows (https://fetch.spec.whatwg.org/#redirect-status). */
const REDIRECT_STATUS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Request-body headers dropped when a redirect turns the request into a GET (Fetch §4.4 step 12). */
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type'];
/**
 * Dropped when a redirect leaves the origin. Credentials: the Fetch standard drops
 * `Authorization`; undici's redirect handler also drops `Proxy-Authorization` and `Cookie`. We do
 * all three, on every runtime (workerd keeps the last two). And a caller's `Host`, which Bun and
 * edge-runtime send: when they follow a redirect themselves the next origin's host goes instead,
 * so the request reaches that origin's virtual host, not the first one's (review 57 D2).
 */
const CROSS_ORIGIN_DROP = ['authorization', 'proxy-authorization', 'cookie', 'host'];

/** The next hop of a redirect, or undefined when `res` is not one we follow. */
export interface NextHop {
  readonly url: string;
  readonly method: string;
  /** False when the redirect turns the request into a body-less GET. */
  readonly keepBody: boolean;
}

/**
 * Reads a redirect response the way the Fetch standard's HTTP-redirect fetch does
 * (https://fetch.spec.whatwg.org/#http-redirect-fetch): undefined when it is not a redirect to
 * follow (no `Location`), a `TypeError` — what `fetch` rejects with — for a `Location` that is
 * not a URL or not HTTP(S) (steps 3 and 5). A URL with credentials (a `Location` that names
 * them, or a relative one that keeps the request's) is left to the runtime's fetch, which
 * judges it as its own redirects: Bun and Deno follow it with `Authorization: Basic`, undici
 * refuses it with a `TypeError` (review 59 D3: refusing it here failed, in a lane only, calls Bun
 * and Deno make).
 */
export function nextHop(
  res: Response,
  current: string,
  method: string,
): NextHop | TypeError | undefined {
  if (!REDIRECT_STATUS.has(res.status)) return undefined;
  const location = res.headers.get('location');
  if (location === null) return undefined;
  let url: URL;
  try {
    url = new URL(location, current);
  } catch {
    return new TypeError(`[graylane] fetch ${current}: redirect to an invalid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return new TypeError(`[graylane] fetch ${current}: redirect to a non-HTTP(S) URL`);
  const toGet =
    ((res.status === 301 || res.status === 302) && method === 'POST') ||
    (res.status === 303 && method !== 'GET' && method !== 'HEAD');
  return { url: url.href, method: toGet ? 'GET' : method, keepBody: !toGet };
}

/** Adjusts the headers for the next hop: body headers on a GET rewrite; credentials and `Host` across origins. */
export function hopHeaders(headers: Headers, from: string, hop: NextHop): Headers {
  const next = new Headers(headers);
  if (!hop.keepBody) for (const name of BODY_HEADERS) next.delete(name);
  if (origin(from) !== origin(hop.url)) for (const name of CROSS_ORIGIN_DROP) next.delete(name);
  return next;
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}
