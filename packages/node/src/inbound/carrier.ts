import type { IncomingMessage } from 'node:http';
import type { RequestLookup } from '@graylane/core';

/**
 * The request as graylane reads it, independent of the framework: Node's `IncomingMessage`
 * (node:http, connect, express, koa, fastify) or a Fetch `Request` (hono).
 */
export interface InboundCarrier {
  /** A header by lower-case name, as the platform combined it. Must not throw. */
  header(name: string): string | readonly string[] | undefined;
  /** For rule matching: the header record (lower-case own keys) or a lookup. */
  readonly headers: RequestLookup;
  readonly method: string | undefined;
  /** Path plus query string, as on the request line (`/a?b=c`). */
  readonly url: string | undefined;
  /** Host without the port, lower-cased. */
  readonly host: string | undefined;
  /** True when the request arrived over TLS (decides `Secure` on sticky cookies). */
  readonly secure: boolean;
  /** The peer address, for `trustedProxies` in edge mode. */
  readonly remoteAddress: string | undefined;
  /** Edge mode: remove the client's marker header so proxies do not forward it. */
  strip?(name: string): void;
}

/** The structural part of `IncomingMessage` graylane reads. */
export interface IncomingMessageLike {
  readonly headers: IncomingMessage['headers'];
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly socket?: {
    readonly remoteAddress?: string | undefined;
    readonly encrypted?: boolean;
  } | null;
}

/** @internal Wraps a Node request. Reads lazily; never throws. */
export function fromIncomingMessage(req: IncomingMessageLike): InboundCarrier {
  const headers = req.headers;
  const socket = req.socket ?? undefined;
  return {
    header: (name) => headers[name],
    headers,
    method: req.method,
    url: req.url,
    host: hostOnly(headers.host),
    secure: socket?.encrypted === true,
    remoteAddress: socket?.remoteAddress,
    strip(name) {
      delete headers[name];
    },
  };
}

/** The structural part of a Fetch `Request` graylane reads. */
export interface FetchRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
}

/** @internal Wraps a Fetch `Request`. Duplicate headers arrive combined with `, `. */
export function fromFetchRequest(req: FetchRequestLike, remoteAddress?: string): InboundCarrier {
  const get = (name: string): string | undefined => {
    try {
      return req.headers.get(name) ?? undefined;
    } catch {
      return undefined;
    }
  };
  let url: URL | undefined;
  try {
    url = new URL(req.url);
  } catch {
    url = undefined;
  }
  return {
    header: get,
    headers: get,
    method: req.method,
    url: url ? `${url.pathname}${url.search}` : undefined,
    host: url?.hostname,
    secure: url?.protocol === 'https:',
    remoteAddress,
  };
}

/** `Host` header without the port, lower-cased; IPv6 literals keep their brackets. */
export function hostOnly(host: string | undefined): string | undefined {
  if (typeof host !== 'string' || host === '') return undefined;
  const lower = host.toLowerCase();
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    return end === -1 ? lower : lower.slice(0, end + 1);
  }
  const colon = lower.indexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}
