/**
 * `@graylane/node/hono` — a hono middleware. Hono is not imported; its context is typed
 * structurally. On `@hono/node-server` the Node request (`c.env.incoming`) is read, so raw
 * header values, the peer address and TLS are exact; elsewhere the Fetch `Request` is used.
 */
import type { IncomingMessage } from 'node:http';
import {
  applyQueryEdit,
  fromFetchRequest,
  privateHeaderFields,
  type CarrierEdits,
  type FetchRequestLike,
  type InboundOptions,
} from '@graylane/core';
import {
  afterSetter,
  bindBodyStream,
  isWebStream,
  storeForResponse,
} from '../context/body-streams.js';
import { runInRequestContext } from '../inbound/bind.js';
import { absoluteTargetHost, fromIncomingMessage } from '../inbound/carrier.js';
import { createEngine } from '../inbound/engine.js';
import { decideOnce } from '../inbound/once.js';
import {
  cookieName,
  privateWhenSent,
  type ResponseSink,
  type ServerResponseLike,
} from '../inbound/node-response.js';
import type { GraylaneStats } from '../metrics/stats.js';

/** The Fetch `Request` as hono exposes it; its headers may be edited in place. */
interface RawRequestLike extends FetchRequestLike {
  readonly headers: FetchRequestLike['headers'] & {
    set?(name: string, value: string): void;
    delete?(name: string): void;
  };
  readonly body?: unknown;
  readonly bodyUsed?: boolean;
  readonly signal?: unknown;
  readonly redirect?: string;
}

/**
 * The part of a hono context graylane uses, typed so idiomatic callbacks compile:
 * `c.req.header('x-user')`, `c.get('user')`. For your app's exact variable types, pass your
 * `Context` type: `graylaneHono<Context<AppEnv>>({ … })`.
 */
export interface HonoContextLike {
  readonly req: {
    raw: RawRequestLike;
    header(name: string): string | undefined;
    /** The path hono computed when the request arrived (a field, not read from `raw`). */
    path?: string;
  };
  readonly env?: unknown;
  /** The response so far; a handler may replace it (`return new Response(…)`, a `fetch`). */
  res?: ResponseLike | undefined;
  /** `value` undefined removes the header (hono's own semantics). */
  header(name: string, value: string | undefined, options?: { append?: boolean }): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- hono variables are typed per app
  get(key: string): any;
}

/** Hono options: callbacks receive the hono context instead of a Node request. */
export type GraylaneHonoOptions<C extends HonoContextLike = HonoContextLike> = InboundOptions<C>;

/** Hono middleware with `stats()` attached. */
export type GraylaneHonoMiddleware<C extends HonoContextLike = HonoContextLike> = ((
  c: C,
  next: () => Promise<void>,
) => Promise<void>) & {
  stats(): GraylaneStats;
};

/**
 * Hono middleware: `app.use(graylaneHono({ config }))` after auth, before routes. After deciding
 * it edits what the app sees (the Node request, its `rawHeaders`, and `c.req.raw`), so a client
 * marker it did not honour is gone for handlers and proxies alike (GW-02). On `@hono/node-server`
 * the listeners the app adds to `c.env.incoming` and `c.env.outgoing` (`'finish'`, `'close'`,
 * `'end'`…) run in the request's context, as `req`/`res` listeners do on the other adapters
 * (CTX-05).
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { graylaneHono } from '@graylane/node/hono';
 * const app = new Hono();
 * app.use(graylaneHono({ config, attributes: (c) => ({ userId: c.get('user')?.id, plan: c.req.header('x-plan') }) }));
 * app.get('/', (c) => c.text(getGrayVersion()));
 * ```
 */
export function graylaneHono<C extends HonoContextLike = HonoContextLike>(
  options: GraylaneHonoOptions<C>,
): GraylaneHonoMiddleware<C> {
  const engine = createEngine<C>(options);
  /** The context prototype whose `res` setter binds stream bodies (per request: one compare). */
  let bodiesOf: unknown;
  // Not `async`: the promise hono awaits is `next()`'s own, entered in the request's context, so
  // no second promise and await per request (issue 20). `decideOnce` never throws.
  const middleware = function graylaneHonoMiddleware(
    c: C,
    next: () => Promise<void>,
  ): Promise<void> {
    const incoming = nodeIncoming(c.env);
    if (incoming !== undefined) {
      const proto: unknown = Object.getPrototypeOf(c);
      if (proto !== bodiesOf) bodiesOf = bindHonoBodies(proto);
    }
    const sink = new HonoSink(c);
    const outcome = decideOnce(engine, {
      // `c.req` only off Node: hono builds its request wrapper on first access.
      key: incoming ?? c.req.raw,
      req: c,
      carrier: incoming
        ? fromIncomingMessage(incoming, false, honoNodeHost, incoming)
        : honoCarrier(c),
      // On @hono/node-server the listeners the app adds to `c.env.incoming` / `c.env.outgoing`
      // run in the request's context, as on the other adapters (CTX-05). Off Node the key is a
      // Fetch `Request`, which has no listeners: nothing to bind, and the entry is kept for it.
      bind: incoming !== undefined,
      res: incoming === undefined ? undefined : nodeOutgoing(c.env),
      sink,
    });
    if (outcome.edits && incoming) editRequest(c, outcome.edits);
    const done = runInRequestContext(outcome, next);
    // STK-06: an outer middleware may still set `Cache-Control` after this one's `finish`.
    const outgoing = incoming && sink.cookies.length > 0 ? nodeOutgoing(c.env) : undefined;
    if (outgoing) privateWhenSent(outgoing as ServerResponseLike, sink.cookies);
    // Only when something was written (a first visit's sticky cookies, the debug header).
    return sink.wrote ? done.then(() => sink.finish(outcome.store.successor !== undefined)) : done;
  };
  return Object.assign(middleware, { stats: () => engine.stats() });
}

/** Marks graylane's `res` setter on hono's `Context` prototype (shared by every copy). */
const HONO_RES = Symbol.for('@graylane/node.honoRes.v1');

/**
 * @hono/node-server reads the `Response`'s stream after `app.fetch` resolved, outside the
 * request's context: a body whose `pull` makes each chunk ran it with no lane (CTX-05). hono sets
 * the handler's response through `c.res` (compose, and `c.res = …` in the app), inside the
 * request's context: the `res` setter of hono's `Context` prototype is wrapped once per process,
 * and a Web stream body of a response set there is bound to the request (context/body-streams.ts).
 * Returns `proto`; never throws (I1).
 */
function bindHonoBodies(proto: unknown): unknown {
  afterSetter<HonoContextLike>(proto, 'res', HONO_RES, bindHonoBody);
  return proto;
}

/** A response set inside the request's context: its body bound when it is a Web stream. */
function bindHonoBody(c: HonoContextLike, response: object): void {
  try {
    const body = responseStream(response);
    if (body === undefined) return;
    const store = storeForResponse(nodeOutgoing(c.env));
    if (store !== undefined) bindBodyStream(store, body);
  } catch {
    // read as it is (I1)
  }
}

/**
 * The Web stream body of `response`, or undefined, without building what @hono/node-server
 * avoids: its lightweight `Response` keeps the body it was made with in an own symbol-keyed
 * entry (`[status, body, headers]`), which node-server writes directly, and reading `.body`
 * would build the full `Response` it stands for. So the body is read from that entry, as
 * node-server does (its key found once per response class, {@link bodyEntryKey}); `.body` is
 * read only from a response that has no such entry, which node-server reads `.body` of too.
 */
function responseStream(response: object): unknown {
  const proto: unknown = Object.getPrototypeOf(response);
  const key = proto === lastResponseProto ? lastEntryKey : bodyEntryKey(proto, response);
  if (key !== null) {
    const entry = (response as Record<symbol, unknown>)[key];
    if (Array.isArray(entry)) return isWebStream(entry[1]) ? entry[1] : undefined;
  }
  const body = (response as { body?: unknown }).body;
  return isWebStream(body) ? body : undefined;
}

// `Response` may be @hono/node-server's (it replaces the global) or the platform's it extends.
const isPrototypeOf = Object.prototype.isPrototypeOf;

/** The response class seen last and its body entry's key (no map lookup per request). */
let lastResponseProto: unknown;
let lastEntryKey: symbol | null = null;
const entryKeys = new WeakMap<object, symbol | null>();

/**
 * The own symbol under which responses of `response`'s class keep `[status, body, headers]`
 * (@hono/node-server's lightweight `Response`), null for a class that keeps none (the platform's
 * `Response`). Found once per class, from a probe made with a string body.
 */
function bodyEntryKey(proto: unknown, response: object): symbol | null {
  if (typeof proto !== 'object' || proto === null) return null;
  let key = entryKeys.get(proto);
  if (key === undefined) {
    key = null;
    try {
      const Ctor = (response as { constructor?: unknown }).constructor;
      // Only a `Response` class is probed (made once, with a string body).
      const R = (globalThis as { Response?: { prototype: object } }).Response;
      if (
        typeof Ctor === 'function' &&
        Ctor.prototype === proto &&
        R !== undefined &&
        (proto === R.prototype ||
          isPrototypeOf.call(R.prototype, proto) ||
          isPrototypeOf.call(proto, R.prototype))
      ) {
        const marker = 'graylane-probe';
        const probe = new (Ctor as new (body: string) => object)(marker) as Record<symbol, unknown>;
        for (const s of Object.getOwnPropertySymbols(probe)) {
          const v = probe[s];
          if (Array.isArray(v) && v[1] === marker) key = s;
        }
      }
    } catch {
      // no entry known: `.body` is read
    }
    entryKeys.set(proto, key);
  }
  lastResponseProto = proto;
  lastEntryKey = key;
  return key;
}

/** The part of a Fetch `Response` graylane touches after the handler. */
interface ResponseLike {
  readonly headers: Headers;
  readonly body: unknown;
  readonly status: number;
  readonly statusText: string;
}

/** Contexts whose debug header a stricter graylane layer removed (GW-03). */
const debugRemoved = new WeakSet<object>();

/**
 * Writes to hono's response headers (a class: no closures per request). hono keeps them as
 * prepared headers and applies them to the response it builds (`c.text`, `c.json`); a handler
 * that returns its own `Response` (a `fetch` passthrough, `new Response`, an `HTTPException`)
 * never gets them, so {@link HonoSink.finish} puts them on a copy of that response after the
 * handler.
 */
class HonoSink implements ResponseSink {
  wrote = false;
  readonly cookies: string[] = [];
  private readonly headers = new Map<string, string>();
  constructor(private readonly c: HonoContextLike) {}
  appendCookie(value: string): void {
    this.wrote = true;
    this.cookies.push(value);
    this.c.header('set-cookie', value, { append: true });
  }
  setHeader(name: string, value: string): void {
    this.wrote = true;
    this.headers.set(name, value);
    this.c.header(name, value);
  }
  removeHeader(name: string): void {
    this.headers.delete(name);
    debugRemoved.add(this.c);
    this.c.header(name, undefined);
  }

  /**
   * After the handler: a response that lacks what graylane wrote gets it (the app's own cookies
   * and headers kept), once. `replaced`: a stricter layer decided again on this request (GW-03),
   * so this layer's cookies describe a decision that was not served: they are taken out. The
   * headers are written on a copy with the same body. Never throws (I1).
   */
  finish(replaced: boolean): void {
    const res = this.c.res;
    if (res === undefined || res === null) return;
    const present = res.headers.getSetCookie();
    if (
      replaced
        ? !this.cookies.some((v) => present.includes(v))
        : this.applied(res.headers) && this.privateAlready(res.headers)
    )
      return;
    try {
      // A copy, never the handler's headers in place: a `fetch` passthrough's are immutable, and
      // @hono/node-server copies its lightweight responses (HEAD) from their first headers.
      const headers = new Headers(res.headers);
      if (replaced) {
        headers.delete('set-cookie');
        for (const v of present) if (!this.cookies.includes(v)) headers.append('set-cookie', v);
      } else this.apply(headers);
      const copy = new Response(res.body as ConstructorParameters<typeof Response>[0], {
        status: res.status,
        statusText: res.statusText,
        headers,
      });
      // Cleared first: hono's setter would merge the old response's cookies over the copy's.
      this.c.res = undefined;
      this.c.res = copy;
    } catch {
      // The response goes out as the handler made it.
    }
  }

  /** Everything graylane wrote is there already (hono applied its prepared headers). */
  private applied(headers: Headers): boolean {
    if (this.missing(headers).length > 0) return false;
    for (const [name, value] of this.headers)
      if (!debugRemoved.has(this.c) && headers.get(name) !== value) return false;
    return true;
  }

  private apply(headers: Headers): void {
    for (const v of this.missing(headers)) headers.append('set-cookie', v);
    if (!debugRemoved.has(this.c)) for (const [n, v] of this.headers) headers.set(n, v);
    // STK-06: no shared cache stores a response carrying graylane's cookies.
    for (const [name, value] of privateHeaderFields(headers, this.cookies))
      headers.set(name, value);
  }

  private privateAlready(headers: Headers): boolean {
    return privateHeaderFields(headers, this.cookies).length === 0;
  }

  /** graylane's cookies the response lacks; a cookie of the same name the app set wins. */
  private missing(headers: Headers): string[] {
    const names = new Set(headers.getSetCookie().map(cookieName));
    return this.cookies.filter((v) => !names.has(cookieName(v)));
  }
}

/** A carrier over `c.req.raw` whose edits go to that request (and replace it for the query). */
/** `@hono/node-server` routes an absolute-form target by its own authority (REQ-01). */
const honoNodeHost = (incoming: IncomingMessage): unknown => absoluteTargetHost(incoming.url);

function honoCarrier(c: HonoContextLike) {
  return { ...fromFetchRequest(c.req.raw), edit: (edits: CarrierEdits) => editRequest(c, edits) };
}

/**
 * Applies the edits to the Fetch `Request` hono hands the app: headers in place (the lightweight
 * `@hono/node-server` request builds them from the already edited `rawHeaders`), and, for a
 * changed query, a new `Request` with the edited URL, whatever the method (GW-02): a `Request`'s
 * URL cannot be changed, and `@hono/node-server` fixed it from the Node request before any
 * middleware ran. The body stream moves to the new request unread; a body an earlier middleware
 * already read stays with hono's parsed-body cache, and the new request has none.
 */
function editRequest(c: HonoContextLike, edits: CarrierEdits): void {
  const raw = c.req.raw;
  for (const [name, value] of edits.headers) {
    try {
      if (value === null) raw.headers.delete?.(name);
      else raw.headers.set?.(name, value);
    } catch {
      // immutable headers (a platform's own Request)
    }
  }
  if (!edits.query) return;
  try {
    const Req = (globalThis as { Request?: new (url: string, init: object) => RawRequestLike })
      .Request;
    if (!Req) return;
    const init: Record<string, unknown> = { method: raw.method, headers: raw.headers };
    if (raw.signal !== undefined) init['signal'] = raw.signal;
    if (raw.redirect !== undefined) init['redirect'] = raw.redirect;
    if (raw.method !== 'GET' && raw.method !== 'HEAD' && raw.bodyUsed !== true) {
      const body = raw.body;
      if (body !== null && body !== undefined) {
        init['body'] = body;
        init['duplex'] = 'half';
      }
    }
    // Edited as sent (see core's applyQueryEdit): no router finds the marker after, nor a
    // parameter it did not find before (review 81 D3).
    c.req.raw = new Req(applyQueryEdit(raw.url, edits.query), init);
    // hono computed `c.req.path` before any middleware: the `;gray=…` parameters edge and signed
    // mode remove go from it too (decodeURI, hono's, leaves `;` `=` `/` `?` encoded), so the two
    // agree (GW-02). The router matched before: route and params keep the path as it came.
    if (edits.query.semicolons === true && typeof c.req.path === 'string')
      c.req.path = applyQueryEdit(c.req.path, {
        remove: edits.query.remove,
        append: undefined,
        semicolons: true,
      });
  } catch {
    // keep the original request
  }
}

function nodeIncoming(env: unknown): IncomingMessage | undefined {
  if (typeof env !== 'object' || env === null) return undefined;
  const incoming = (env as { incoming?: unknown }).incoming;
  if (typeof incoming !== 'object' || incoming === null) return undefined;
  const headers = (incoming as { headers?: unknown }).headers;
  return typeof headers === 'object' && headers !== null
    ? (incoming as IncomingMessage)
    : undefined;
}

/** `c.env.outgoing` on @hono/node-server (the Node response), when it is an emitter. */
function nodeOutgoing(env: unknown): object | undefined {
  const outgoing = (env as { outgoing?: unknown }).outgoing;
  return typeof outgoing === 'object' &&
    outgoing !== null &&
    typeof (outgoing as { emit?: unknown }).emit === 'function'
    ? outgoing
    : undefined;
}

export type { GraylaneOptions } from '../options.js';
