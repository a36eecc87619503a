import type { FetchRequestLike } from '../inbound/carrier.js';
import { STATUS_PROXY_HEADERS } from './auth.js';
import type { StatusRequest } from './endpoint.js';

/**
 * Reads a Fetch `Request` as a {@link StatusRequest}, for Web-standard runtimes. `host` is the
 * `Host` header, else the authority of `request.url`. Duplicate
 * `Authorization` headers arrive combined (`a, b`) and so never match a token. Edge runtimes
 * do not know the socket peer: pass `remoteAddress` only when the platform really knows it
 * (Deno's `info.remoteAddr`, Bun's `server.requestIP`); without it, only a token grants access.
 * Never throws.
 *
 * @example
 * ```ts
 * const answer = endpoint.handle(statusRequestFromFetch(request));
 * if (answer) return new Response(answer.body || null, { status: answer.status, headers: answer.headers });
 * ```
 */
export function statusRequestFromFetch(
  request: FetchRequestLike,
  remoteAddress?: string,
  nonce?: string,
): StatusRequest {
  const get = (name: string): string | null => {
    try {
      return request.headers.get(name);
    } catch {
      return null;
    }
  };
  const authorization = get('authorization');
  return {
    method: request.method,
    path: pathOf(request.url),
    remoteAddress,
    authorization: authorization === null ? [] : [authorization],
    proxied: STATUS_PROXY_HEADERS.some((h) => get(h) !== null),
    host: get('host') ?? hostOf(request.url),
    nonce,
  };
}

/**
 * The authority of an absolute URL (no userinfo), for runtimes whose `Request` has no `Host`
 * header: they built `request.url` from it.
 */
function hostOf(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url);
  const authority = m?.[1];
  return authority === undefined || authority === '' || authority.includes('@')
    ? undefined
    : authority;
}

/** The path of an absolute URL, without query or fragment; `/` when there is none. */
function pathOf(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(url);
  return m?.[1] || '/';
}
