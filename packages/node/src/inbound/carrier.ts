import type { IncomingMessage } from 'node:http';
import {
  applyQueryEdit,
  hostOnly,
  originForm,
  routerTarget,
  spellsKey,
  socketPeer,
  type CarrierEdits,
  type InboundCarrier,
} from '@graylane/core';

import { recordOriginals, type Original } from './once.js';

export type { InboundCarrier } from '@graylane/core';

/** The structural part of `IncomingMessage` graylane reads. */
export interface IncomingMessageLike {
  readonly headers: IncomingMessage['headers'];
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  /** express/router: the path the request was mounted at (`req.url` is relative to it). */
  readonly baseUrl?: unknown;
  /** express/connect: the request target as it arrived. */
  readonly originalUrl?: unknown;
  readonly socket?: {
    readonly remoteAddress?: string | undefined;
    readonly encrypted?: boolean;
    /** The `net.Server` that accepted the connection (Node sets it on every server socket). */
    readonly server?: { address?(): unknown } | null | undefined;
  } | null;
}

/**
 * @internal Wraps a Node request. Reads lazily; never throws. A class, so a request costs one
 * small object and no closures (issue 20: the header-marker path allocates next to nothing).
 */
export function fromIncomingMessage<S>(
  req: IncomingMessageLike,
  semicolonEndsPath = false,
  hostOf?: FrameworkHost<S>,
  hostSource?: S,
): InboundCarrier {
  return new NodeCarrier(req, semicolonEndsPath, hostOf as FrameworkHost<unknown>, hostSource);
}

/**
 * @internal The host as the framework itself reads it (express `req.hostname`, koa `ctx.host`,
 * fastify `request.host`): its trust-proxy setting (`X-Forwarded-Host`) and its HTTP/2 reading
 * (`Host` or `:authority` first) then hold for the `host` rules too (REQ-01/02). A string is that
 * host (a port is dropped); anything else, or a throw, falls back to graylane's own reading.
 * A module-level reader called with the framework's object (`hostSource`), so a request allocates
 * no closure for it (issue 20).
 */
export type FrameworkHost<S> = (source: S) => unknown;

/**
 * The host of an `http://` or `https://` absolute-form target (`GET http://h/p`), where
 * `@hono/node-server` takes it: it builds the Fetch URL hono routes on from that target, not
 * from `Host`, and with the same case-sensitive test. Anything else: `undefined`.
 */
export function absoluteTargetHost(url: string | undefined): string | undefined {
  if (typeof url !== 'string' || url.charCodeAt(0) === 0x2f) return undefined;
  if (!url.startsWith('http://') && !url.startsWith('https://')) return undefined;
  try {
    return hostOnly(new URL(url).host);
  } catch {
    return undefined; // @hono/node-server answers 400 to it: no handler runs
  }
}

/**
 * The request target without the `;…` segment a router that ends the path at `;` skips
 * (fastify's `useSemicolonDelimiter`, on by default in fastify 4: `/admin;jsessionid=1` is served
 * by `/admin`), so a `path` rule sees the path the route is chosen by (REQ-03). What follows the
 * `;` up to the query is not read as a query: no reader but that router's own parser takes
 * parameters from it, and a `;` inside the query is a character of a value everywhere.
 */
export function withoutPathParameters(url: string): string {
  const semi = url.indexOf(';');
  if (semi === -1) return url;
  let end = url.length;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  return semi < end ? url.slice(0, semi) + url.slice(end) : url;
}

class NodeCarrier implements InboundCarrier {
  /** Where the first values of what an edit changes are recorded (decide-once, GW-03). */
  private original: Original | undefined = undefined;
  constructor(
    private readonly req: IncomingMessageLike,
    private readonly semicolonEndsPath: boolean,
    /** The framework's own reading of the host, where an adapter knows it (see `host`). */
    private readonly hostOf: FrameworkHost<unknown> | undefined,
    /** What `hostOf` reads from: express's `req`, koa's `ctx`, fastify's `request`. */
    private readonly hostSource: unknown,
  ) {}
  recordInto(original: Original): void {
    this.original = original;
  }
  /** The request's header record, read once (each read is a lookup on the request object). */
  private record: IncomingMessage['headers'] | undefined = undefined;
  header(name: string): string | readonly string[] | undefined {
    return (this.record ??= this.req.headers)[name];
  }
  get headers(): IncomingMessage['headers'] {
    return this.req.headers;
  }
  get method(): string | undefined {
    return this.req.method;
  }
  get url(): string | undefined {
    let url = this.req.url;
    if (typeof url !== 'string') return url;
    // Mounted (`app.use('/api', graylaneExpress(…))`, or in a router mounted there), express hands
    // graylane `req.url` without the mount path; rules name the path the client asked for.
    const base = this.req.baseUrl;
    if (typeof base === 'string' && base.charCodeAt(0) === 0x2f && url.charCodeAt(0) === 0x2f) {
      // At the mount path itself express gives `/`: `/api` and `/api/` both arrive so, and only
      // the target as it arrived tells which the client asked for.
      const bare = url.length === 1 || url.charCodeAt(1) === 0x3f;
      const asked = this.req.originalUrl;
      const slash = typeof asked !== 'string' || /^[^?#]*\/(?:[?#]|$)/.test(asked);
      url = base + (bare && !slash ? url.slice(1) : url);
    }
    const target = routerTarget(originForm(url));
    return this.semicolonEndsPath ? withoutPathParameters(target) : target;
  }
  /**
   * HTTP/2 names the host in `:authority` (RFC 9113 §8.3.1: clients use it instead of `Host`,
   * and Node's compat layer keeps it as that header), so a `host` rule that read only `Host` never
   * matched an h2 request; koa and hono read `:authority` there (fastify when `Host` is absent).
   * `Host` otherwise. Under a framework the rules read the host it reads ({@link FrameworkHost}):
   * express, koa and fastify trust `X-Forwarded-Host` from the proxies the app trusts, fastify
   * prefers `Host` over h2's `:authority`, and `@hono/node-server` builds the URL hono routes on
   * from an absolute-form target's own authority (REQ-01).
   */
  get host(): string | undefined {
    if (this.hostOf !== undefined) {
      try {
        const own = this.hostOf(this.hostSource);
        if (typeof own === 'string') return hostOnly(own);
      } catch {
        // a framework getter that throws: graylane's own reading (I1)
      }
    }
    const headers = this.req.headers;
    const authority = headers[':authority'];
    return hostOnly(typeof authority === 'string' && authority !== '' ? authority : headers.host);
  }
  get secure(): boolean {
    return this.req.socket?.encrypted === true;
  }
  /**
   * The socket's peer IP; `'unix'` when the server listens on a Unix domain socket (core's
   * `socketPeer`).
   */
  get remoteAddress(): string | undefined {
    return socketPeer(this.req.socket);
  }
  edit(edits: CarrierEdits): void {
    if (this.original !== undefined) recordOriginals(this.original, edits, this);
    editIncomingMessage(this.req, edits);
  }
}

interface Editable {
  headers: Record<string, string | string[] | undefined>;
  rawHeaders?: string[];
  url?: string;
  originalUrl?: string;
  /** cookie-parser's, when it ran before graylane. */
  cookies?: unknown;
  signedCookies?: unknown;
  /** express 4's, parsed before any middleware (an own property; express 5's is a getter). */
  query?: unknown;
}

/**
 * @internal Applies the engine's edits to a Node request (GW-01/02): `headers` (what express,
 * koa, fastify and proxies read), `rawHeaders` (what `@hono/node-server` and raw-header proxies
 * read) and `url` / express's `originalUrl`. Never throws; a frozen request keeps what it has.
 */
export function editIncomingMessage(req: IncomingMessageLike, edits: CarrierEdits): void {
  const r = req as unknown as Editable;
  const cookie = edits.headers.get('cookie');
  if (cookie !== undefined) {
    // Before the header changes: what a cookie parser that ran earlier was given.
    const before = r.headers.cookie;
    editParsedCookies(r.cookies, before, cookie, true);
    editParsedCookies(r.signedCookies, before, cookie, false);
  }
  let rawEdited = false;
  for (const [name, value] of edits.headers) {
    try {
      if (value === null) delete r.headers[name];
      else r.headers[name] = value;
    } catch {
      // frozen headers
    }
    try {
      // In place: whoever already holds the array (a lazily built Fetch Request) sees the edit.
      if (Array.isArray(r.rawHeaders)) {
        const next = withRawHeader(r.rawHeaders, name, value);
        r.rawHeaders.splice(0, r.rawHeaders.length, ...next);
        rawEdited = true;
      }
    } catch {
      // a read-only rawHeaders
    }
  }
  if (rawEdited) distinctFromRaw(r);
  const query = edits.query;
  if (!query) return;
  try {
    // Edited as sent: a marker goes wherever a reader could find it (after a `#` too, see
    // routerTarget), and every `#` and `?` that stays keeps its place, so no router, and no proxy
    // forwarding `req.url`, finds a parameter it did not find before (review 81 D3).
    if (typeof r.url === 'string') r.url = applyQueryEdit(r.url, query);
    if (typeof r.originalUrl === 'string') r.originalUrl = applyQueryEdit(r.originalUrl, query);
  } catch {
    // a read-only url
  }
  editRawPath(r.rawHeaders, query);
  if (Object.prototype.hasOwnProperty.call(r, 'query')) editParsedQuery(r.query, query);
}

/**
 * HTTP/2 (node:http2's compat request): the target is the `:path` pseudo-header, and `rawHeaders`
 * keeps it as the client sent it; setting `req.url` edits `headers[':path']` only. Each `:path`
 * entry gets the same query edit as the URL (GW-02), in place, so whatever reads `rawHeaders`
 * (a proxy forwarding them, a framework rebuilding the request) sees the edited target. Edited
 * from its own value, not copied from `req.url`: a mounted app's `req.url` is relative. Never
 * throws: a read-only array keeps what it has.
 */
function editRawPath(raw: string[] | undefined, query: NonNullable<CarrierEdits['query']>): void {
  try {
    if (!Array.isArray(raw)) return;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const value = raw[i + 1];
      if (raw[i] === ':path' && typeof value === 'string')
        raw[i + 1] = applyQueryEdit(value, query);
    }
  } catch {
    // a read-only rawHeaders
  }
}

/**
 * @internal A query object parsed before graylane ran (express 4's `req.query`, fastify's
 * `request.query`), edited as the URL was (GW-02): the removed parameters go under every spelling
 * (`GRAY`), the appended one is set. Never throws: a frozen object keeps what was parsed.
 */
export function editParsedQuery(parsed: unknown, edit: CarrierEdits['query']): void {
  if (!edit || typeof parsed !== 'object' || parsed === null) return;
  try {
    const q = parsed as Record<string, unknown>;
    // Every key the parser made of a spelling the URL lost (`GRAY`, qs's `gray` of `gray[]`).
    for (const key of Object.keys(q))
      if (edit.remove.some((name) => spellsKey(key, 0, key.length, name, false))) delete q[key];
    if (edit.append) q[edit.append[0]] = edit.append[1];
  } catch {
    // a frozen query object keeps what was parsed
  }
}

/**
 * @internal Cookies parsed before graylane ran (cookie-parser's `req.cookies` and
 * `req.signedCookies`, `@fastify/cookie`'s `request.cookies`), edited as the `Cookie` header was
 * (GW-02): a pair graylane removed is gone from the object; one it rewrote (a signed marker to
 * the plain version) takes the new value (`plain`), or goes from an object of cookies a parser
 * verified (`signedCookies`: the new value is not signed). Only names whose pairs changed are
 * touched; bounded by the header's length (one split of each). Never throws.
 */
export function editParsedCookies(
  parsed: unknown,
  before: string | readonly string[] | undefined,
  after: string | null,
  plain: boolean,
): void {
  if (typeof parsed !== 'object' || parsed === null || before === undefined) return;
  try {
    const old = cookiePairs(typeof before === 'string' ? before : before.join('; '));
    const now = after === null ? new Map<string, string>() : cookiePairs(after);
    const p = parsed as Record<string, unknown>;
    for (const [name, raw] of old) {
      if (!Object.prototype.hasOwnProperty.call(p, name)) continue;
      const next = now.get(name);
      if (next === raw) continue;
      if (next === undefined || !plain) delete p[name];
      else p[name] = decodedCookie(next);
    }
  } catch {
    // a frozen object keeps what was parsed
  }
}

/** A `Cookie` header's pairs, name → the raw value of its first pair (as cookie parsers keep). */
function cookiePairs(text: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const name = pair.slice(0, eq).trim();
    if (name !== '' && !pairs.has(name)) pairs.set(name, pair.slice(eq + 1).trim());
  }
  return pairs;
}

function decodedCookie(raw: string): string {
  const value = raw.length > 1 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  try {
    return value.includes('%') ? decodeURIComponent(value) : value;
  } catch {
    return value;
  }
}

/**
 * `req.headersDistinct` from the edited `rawHeaders` (GW-02). Node's own getter (20, 22, 24) walks
 * `rawHeaders` up to the count it parsed, so after an edit shortened the array it throws, and a
 * value it cached before graylane ran still holds the client's marker. An own property shadows
 * it: built on first read from the array as it is then, like Node's (lower-case name → every
 * value in order), rebuilt after a later edit; assignable, as Node's is.
 */
function distinctFromRaw(r: Editable): void {
  let built: Record<string, string[]> | undefined;
  try {
    Object.defineProperty(r, 'headersDistinct', {
      configurable: true,
      enumerable: false,
      get: () => (built ??= distinct(r.rawHeaders ?? [])),
      set: (value: Record<string, string[]>) => {
        built = value;
      },
    });
  } catch {
    // a frozen request keeps Node's getter
  }
}

function distinct(raw: readonly string[]): Record<string, string[]> {
  // Keyed by request input: no prototype (`__proto__` is just a name).
  const out = Object.create(null) as Record<string, string[]>;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = (raw[i] as string).toLowerCase();
    const list = out[key];
    if (list === undefined) out[key] = [raw[i + 1] as string];
    else list.push(raw[i + 1] as string);
  }
  return out;
}

/** `rawHeaders` without any `name` entry (any case), plus `name: value` when set. */
function withRawHeader(raw: readonly string[], name: string, value: string | null): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.toLowerCase() !== name) out.push(key, raw[i + 1] as string);
  }
  if (value !== null) out.push(name, value);
  return out;
}
