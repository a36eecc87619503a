import type { IncomingMessage } from 'node:http';
import { STATUS_PROXY_HEADERS, type StatusRequest } from '@graylane/core';

/** The parts of a Node request the status page reads (express and koa add `originalUrl`). */
export type StatusIncoming = Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'rawHeaders'> & {
  readonly socket?: { readonly remoteAddress?: string | undefined } | null | undefined;
  readonly originalUrl?: string | undefined;
};

/**
 * Reads a Node request for the status endpoint (only once its path matched). `Authorization`
 * values are counted from `rawHeaders`, because Node keeps only the first of duplicated
 * `Authorization` headers in `req.headers` — a second one must refuse the request, not be
 * silently ignored.
 */
export function toStatusRequest(
  req: StatusIncoming,
  path: string,
  nonce: StatusRequest['nonce'],
): StatusRequest {
  return {
    method: req.method ?? 'GET',
    path,
    remoteAddress: req.socket?.remoteAddress,
    authorization: rawValues(req.rawHeaders, 'authorization'),
    proxied: STATUS_PROXY_HEADERS.some((name) => req.headers[name] !== undefined),
    host: hostHeader(req.headers),
    nonce,
  };
}

/** The request path without query or fragment, from `originalUrl` when a framework has one. */
export function statusPath(req: StatusIncoming, originalUrl = req.originalUrl): string {
  const target = typeof originalUrl === 'string' ? originalUrl : (req.url ?? '/');
  const cut = target.search(/[?#]/);
  return cut === -1 ? target : target.slice(0, cut);
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
