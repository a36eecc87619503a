import type { GrayClient } from './client.js';
import { warnPreflight } from './cors-warning.js';
import { clientOr } from './current.js';

/** The shape of `fetch`. */
export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** Options of {@link withGray}. */
export interface WithGrayOptions {
  /** The client whose version is sent. Default: the one `initGray` created last. */
  readonly client?: GrayClient | undefined;
}

/**
 * Methods graylane may send twice (RFC 9110 §9.2.2 idempotent methods fetch allows): a request
 * with one of these can be re-sent plain when the server answers with a redirect (RDR-01/03).
 */
export const REPLAYABLE = /^(GET|HEAD|OPTIONS|PUT|DELETE)$/i;

/**
 * Wraps `fetch` so requests to the page's origin and to allowlisted origins carry the marker
 * header. The caller's `Headers`, init object and `Request` are never mutated (a copy is passed),
 * a header the caller set is kept, and the header is never sent anywhere else (I8). Allowed
 * responses may assign a version (`X-Gray-Id` / `Set-Cookie`). `fetchImpl` defaults to
 * `globalThis.fetch`, looked up at call time.
 *
 * Redirects (RDR-01/03): the browser would carry the header to wherever a redirect points, and a
 * third party that does not allow it in CORS would fail the call. So a marked request that may be
 * repeated (GET, HEAD, OPTIONS, PUT, DELETE; no stream body) and follows redirects is sent with
 * `redirect: 'manual'`; if the server answers with a redirect, the caller's request is sent again
 * exactly as written — no marker, the caller's redirect mode — and that response is returned. A
 * POST or PATCH is never repeated: it is sent as written, with the marker.
 *
 * @example
 * ```ts
 * const grayFetch = withGray();
 * await grayFetch('/api/cart'); // X-Gray-Id: beta
 * await grayFetch('https://cdn.third-party.example/x.js'); // no header
 * ```
 */
export function withGray(fetchImpl?: FetchLike, options: WithGrayOptions = {}): FetchLike {
  return function grayFetch(input, init) {
    const client = clientOr(options.client);
    const call = fetchImpl ?? globalThis.fetch;
    if (!client) return call(input, init);
    let url: string | undefined;
    let marked: RequestInit | undefined;
    let first: RequestInfo | URL = input;
    try {
      const request = typeof input == 'object' && 'headers' in input ? input : undefined;
      url = request ? request.url : String(input);
      const value = client.markerFor(url);
      const headers =
        value === undefined ? undefined : new Headers(init?.headers ?? request?.headers);
      if (value !== undefined && headers && !headers.has(client.header)) {
        headers.set(client.header, value);
        marked = { ...init, headers };
        if (
          (init?.redirect ?? request?.redirect ?? 'follow') == 'follow' &&
          REPLAYABLE.test(init?.method ?? request?.method ?? 'GET') &&
          !(init?.body instanceof ReadableStream)
        ) {
          marked.redirect = 'manual';
          // The replay needs the caller's Request (and its body) untouched.
          if (request) first = request.clone();
        }
      }
    } catch {
      // Odd input: send the request untouched rather than fail it (I1).
      marked = undefined;
      first = input;
    }
    const href = url;
    if (href === undefined) return call(input, init);
    const adopt = (response: Response): Response => {
      client.readResponse(response.url || href, response.headers);
      return response;
    };
    return call(first, marked ?? init).then(
      (response) =>
        marked?.redirect == 'manual' && response.type == 'opaqueredirect'
          ? call(input, init).then(adopt)
          : adopt(response),
      (error: unknown) => {
        if (marked) warnPreflight(client, href, error);
        throw error;
      },
    );
  };
}
