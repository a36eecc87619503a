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
 * Wraps `fetch` so requests to the page's origin and to allowlisted origins carry the marker
 * header. The caller's `Headers`, init object and `Request` are never mutated (a copy is passed),
 * a header the caller set is kept, and the header is never sent anywhere else (I8). Allowed
 * responses may assign a version (`X-Gray-Id` / `Set-Cookie`). `fetchImpl` defaults to
 * `globalThis.fetch`, looked up at call time.
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
    let sent = false;
    try {
      const request = typeof input === 'object' && 'headers' in input ? input : undefined;
      url = request ? request.url : String(input);
      const value = client.markerFor(url);
      const headers =
        value === undefined ? undefined : new Headers(init?.headers ?? request?.headers);
      if (value !== undefined && headers && !headers.has(client.header)) {
        headers.set(client.header, value);
        init = { ...init, headers };
        sent = true;
      }
    } catch {
      // Odd input: send the request untouched rather than fail it (I1).
    }
    const href = url;
    if (href === undefined) return call(input, init);
    return call(input, init).then(
      (response) => {
        client.readResponse(response.url || href, response.headers);
        return response;
      },
      (error: unknown) => {
        if (sent) warnPreflight(client, href, error);
        throw error;
      },
    );
  };
}
