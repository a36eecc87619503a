import type { IncomingMessage } from 'node:http';
import { STATUS_PROXY_HEADERS, type StatusRequest } from '@graylane/core';

/** The parts of a Node request the status page reads (express and koa add `originalUrl`). */
export type StatusIncoming = Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'rawHeaders'> & {
  readonly socket?: { readonly remoteAddress?: string | undefined } | null | undefined;
  readonly originalUrl?: string | undefined;
};

/** The proxy headers by name, for a scan of `rawHeaders`. */
const PROXY_HEADERS: ReadonlySet<string> = new Set(STATUS_PROXY_HEADERS);

/**
 * Reads a Node request for the status endpoint (only once its path matched). Header lines are
 * counted from `rawHeaders`, because `req.headers` keeps only the first of a duplicated
 * `Authorization` or `Host`: a second one must refuse the request, not be silently ignored.
 */
export function toStatusRequest(
  req: StatusIncoming,
  path: string,
  nonce: StatusRequest['nonce'],
): StatusRequest {
  const raw = Array.isArray(req.rawHeaders) ? req.rawHeaders : undefined;
  return {
    method: req.method ?? 'GET',
    path,
    remoteAddress: req.socket?.remoteAddress,
    authorization: rawValues(raw, 'authorization'),
    proxied:
      STATUS_PROXY_HEADERS.some((name) => req.headers[name] !== undefined) ||
      (raw ?? []).some((name, i) => i % 2 === 0 && PROXY_HEADERS.has(name.toLowerCase())),
    host: raw ? onlyHost(raw) : hostHeader(req.headers),
    nonce,
  };
}

/** The request path without query or fragment, from `originalUrl` when a framework has one. */
export function statusPath(req: StatusIncoming, originalUrl = req.originalUrl): string {
  const target = typeof originalUrl === 'string' ? originalUrl : (req.url ?? '/');
  const cut = target.search(/[?#]/);
  return cut === -1 ? target : target.slice(0, cut);
}

/**
 * The one name the request was sent to: its `Host` line (HTTP/2: `:authority`, and `host` too
 * when both came, naming the same). Two `Host` lines — `Host: localhost` then
 * `Host: evil.example`, in any case, even twice the same name — are no name at all: Node keeps the
 * first in `req.headers`, a proxy in front may have routed on the last, and RFC 9112 §3.2 makes
 * the request invalid. Undefined is refused as a non-loopback host.
 */
function onlyHost(raw: readonly string[]): string | undefined {
  const hosts = rawValues(raw, 'host');
  const authorities = rawValues(raw, ':authority');
  if (hosts.length > 1 || authorities.length > 1) return undefined;
  const [host] = hosts;
  const [authority] = authorities;
  if (
    host !== undefined &&
    authority !== undefined &&
    host.toLowerCase() !== authority.toLowerCase()
  )
    return undefined;
  return host ?? authority;
}

/** `Host`, or HTTP/2's `:authority` (Node's compat API may leave `host` out). */
function hostHeader(headers: StatusIncoming['headers']): string | undefined {
  const host = headers.host ?? headers[':authority'];
  return typeof host === 'string' ? host : undefined;
}

function rawValues(raw: readonly string[] | undefined, name: string): string[] {
  const out: string[] = [];
  if (!Array.isArray(raw)) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name) out.push(raw[i + 1] as string);
  }
  return out;
}
