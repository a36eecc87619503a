import type { GrayClient } from './client.js';
import { clientOr } from './current.js';
import { asPlain, isPlain, PLAIN } from './plain.js';

/** The shape of `fetch`. */
export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** Options of {@link withGray}, `installFetch` and `installXHR`; `null` is none. */
export interface WithGrayOptions {
  /** The client whose version is sent. Default: the one `initGray` created last. */
  readonly client?: GrayClient | undefined;
}

/**
 * Methods graylane may send twice (RFC 9110 §9.2.1 safe methods): a request with one of these
 * can be re-sent plain when the server answers with a redirect (RDR-01/03). Not PUT or DELETE:
 * idempotent, but a server that answers one with a redirect (or fails after acting) has acted,
 * and a plain re-send would act again, on the stable version.
 */
export const REPLAYABLE = /^(GET|HEAD|OPTIONS)$/i;

/**
 * Wraps `fetch` so requests to the page's origin and to allowlisted origins carry the marker
 * header. The caller's `Headers`, init object and `Request` are never mutated (a copy is passed),
 * a header the caller set is kept, and the header is never sent anywhere else (I8). Responses
 * never change the page's version: one page view, one version (a server's `Set-Cookie` applies
 * from the next page view). `fetchImpl` defaults to `globalThis.fetch`, looked up at call time.
 *
 * Redirects and CORS (RDR-01/03, CORS-02): the browser would carry the header to wherever a
 * redirect points, and an origin that does not allow it in CORS fails the call. So a marked
 * safe request (GET, HEAD, OPTIONS; no stream body) is sent with `redirect: 'manual'` when it
 * follows redirects; if the server answers with a redirect, or the marked request fails at the
 * network level, the caller's request is sent again exactly as written — no marker, the caller's
 * redirect mode — and that outcome is returned. A write (POST, PUT, DELETE, PATCH, any other
 * method) is never repeated: the server may have acted on it. It is sent as written, with the
 * marker.
 *
 * @example
 * ```ts
 * const grayFetch = withGray();
 * await grayFetch('/api/cart'); // X-Gray-Id: beta
 * await grayFetch('https://cdn.third-party.example/x.js'); // no header
 * ```
 */
export function withGray(fetchImpl?: FetchLike, options?: WithGrayOptions): FetchLike {
  return function grayFetch(input, init) {
    // `null` (or any non-object) options are none: read here, on every request (review 69 D1).
    const client = clientOr(options?.client);
    const call = fetchImpl ?? globalThis.fetch;
    let first = input;
    let marked: RequestInit | undefined;
    // Set only for a request that is marked; unset (false) otherwise.
    let replay: boolean | undefined;
    let probe: boolean | undefined;
    try {
      const request = typeof input == 'object' && 'headers' in input ? input : undefined;
      // graylane's own plain re-send, from a wrapper around this one: left alone.
      const value = isPlain(init)
        ? undefined
        : client?.markerFor(request ? request.url : String(input));
      const headers = new Headers(init?.headers ?? request?.headers);
      // `no-cors`: the browser drops a header that is not CORS-safelisted, so the request goes
      // as written — no header, and no probe, whose opaque redirect would send it twice (N2).
      if (
        client &&
        value !== undefined &&
        !headers.has(client.header) &&
        (init?.mode ?? request?.mode) != 'no-cors'
      ) {
        headers.set(client.header, value);
        replay =
          REPLAYABLE.test(init?.method ?? request?.method ?? 'GET') &&
          !(init?.body instanceof ReadableStream);
        // The replay needs the caller's Request (and its body) untouched.
        if (replay && request) first = request.clone();
        probe = replay && (init?.redirect ?? request?.redirect ?? 'follow') == 'follow';
        // `init`'s own fields (what a wrapper that spreads the init, or fetch, reads), on top of
        // `init` itself: fetch reads an init by property access, so what it inherits (an init made
        // with `Object.create`, a class's getters) still counts, where a spread alone would keep
        // own fields only and send a POST as a GET without its body.
        marked = { __proto__: init, ...init, headers } as RequestInit;
        if (probe) marked.redirect = 'manual';
      }
    } catch {
      // Odd input: send the request untouched rather than fail it (I1).
    }
    // The caller's init as written, tagged: a wrapper that awaits before calling the fetch under
    // it (outside asPlain's window) still hands a graylane hook there a plain re-send.
    const plain = (): Promise<Response> =>
      asPlain(() => call(input, { __proto__: init, ...init, [PLAIN]: true } as RequestInit));
    return marked
      ? call(first, marked).then(
          (response) => (probe && response.type == 'opaqueredirect' ? plain() : response),
          (error: unknown) => {
            // A network failure (not the caller's abort) of a marked request: try it as written.
            if (replay && (error as Error)?.name == 'TypeError') return plain();
            throw error;
          },
        )
      : plain();
  };
}
