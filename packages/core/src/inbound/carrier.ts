import type { RequestLookup } from '../rules/types.js';
import { canonicalHost } from './host.js';
import type { CarrierEdits } from './normalize.js';

/**
 * The request as the inbound engine reads it, independent of platform and framework. A
 * platform builds one per request (Node: from `IncomingMessage`; Web: {@link fromFetchRequest}).
 * Every member must be cheap and must not throw.
 */
export interface InboundCarrier {
  /** A header by lower-case name, as the platform combined it. Must not throw. */
  header(name: string): string | readonly string[] | undefined;
  /** For rule matching: the header record (lower-case own keys) or a lookup. */
  readonly headers: RequestLookup;
  readonly method: string | undefined;
  /** Path plus query string, as on the request line (`/a?b=c`). */
  readonly url: string | undefined;
  /** Host without the port, as a URL's `hostname` ({@link hostOnly}). */
  readonly host: string | undefined;
  /** True when the request arrived over TLS (decides `Secure` on sticky cookies). */
  readonly secure: boolean;
  /** The peer address, for `trustedProxies` in edge mode. */
  readonly remoteAddress: string | undefined;
  /**
   * Applies the engine's edits so that what the app and any proxy see from now on carries
   * exactly the decided version (GW-01/02). Optional: a platform whose request is immutable
   * (a Fetch `Request`) reads `outcome.edits` and builds the request it forwards instead.
   */
  edit?(edits: CarrierEdits): void;
}

/** The structural part of a Fetch `Request` the engine reads. */
export interface FetchRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
}

interface UrlLike {
  readonly pathname: string;
  readonly search: string;
  readonly hostname: string;
  readonly protocol: string;
}
type UrlCtor = new (input: string) => UrlLike;

/**
 * Wraps a Fetch `Request` (Workers, Deno, Bun, Vercel Edge, hono) as a carrier. Duplicate
 * headers arrive combined with `, ` (so a repeated marker header is ambiguous, HDR-07). Reads
 * lazily; never throws.
 *
 * @example
 * ```ts
 * // On Cloudflare Workers, which overwrite `cf-connecting-ip`; elsewhere that header is client
 * // input: pass the runtime's socket peer (Deno `info.remoteAddr.hostname`, Bun
 * // `server.requestIP(request)?.address`).
 * const carrier = fromFetchRequest(request, request.headers.get('cf-connecting-ip') ?? undefined);
 * ```
 */
export function fromFetchRequest(req: FetchRequestLike, remoteAddress?: string): InboundCarrier {
  const get = (name: string): string | undefined => {
    try {
      return req.headers.get(name) ?? undefined;
    } catch {
      return undefined;
    }
  };
  const target = req.url;
  const absolute = parseUrl(target);
  // Bun hands an HTTP/1.0 request without `Host` a relative URL (`/p?q`): its path and query
  // are still what was asked for (Node and Deno read them), its host unknown.
  const url =
    absolute ??
    (typeof target === 'string' && target.charCodeAt(0) === 0x2f
      ? parseUrl(`http://h${target}`)
      : undefined);
  return {
    header: get,
    headers: get,
    method: req.method,
    url: url ? `${url.pathname}${url.search}` : undefined,
    host: absolute?.hostname,
    secure: absolute?.protocol === 'https:',
    remoteAddress,
  };
}

function parseUrl(input: unknown): UrlLike | undefined {
  const URLImpl = (globalThis as { URL?: UrlCtor }).URL;
  if (!URLImpl || typeof input !== 'string') return undefined;
  try {
    return new URLImpl(input);
  } catch {
    return undefined;
  }
}

/**
 * The `Host` header (or `:authority`) without its port, in the form a Fetch URL's `hostname`
 * and the browser's `location.hostname` give ({@link canonicalHost}): lower-case, punycode,
 * IPv4 dotted decimal, IPv6 compressed in brackets. A plain `shop.example:8080` costs a regex
 * test and a slice; only another spelling goes through `new URL`. A host the URL parser
 * refuses is `undefined` (no host).
 *
 * @example
 * ```ts
 * hostOnly('API.example.com:8443');    // 'api.example.com'
 * hostOnly('[::FFFF:127.0.0.1]:80');   // '[::ffff:7f00:1]'
 * hostOnly('bücher.example');          // 'xn--bcher-kva.example'
 * ```
 */
export function hostOnly(host: string | undefined): string | undefined {
  if (typeof host !== 'string' || host === '') return undefined;
  let end: number;
  if (host.charCodeAt(0) === 0x5b) {
    const close = host.indexOf(']');
    end = close === -1 ? host.length : close + 1;
    // After `]` only a port (`[::1]x` is no host: a Fetch URL refuses it).
    if (end < host.length && host.charCodeAt(end) !== 0x3a) return undefined;
  } else {
    const colon = host.indexOf(':');
    end = colon === -1 ? host.length : colon;
  }
  return canonicalHost(end === host.length ? host : host.slice(0, end));
}
