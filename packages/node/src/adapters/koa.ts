/**
 * `@graylane/node/koa` — the koa (2/3) adapter. Koa is not imported; the context is typed
 * structurally.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  applyQueryEdit,
  type CarrierEdits,
  type InboundCarrier,
  type InboundOptions,
} from '@graylane/core';
import {
  afterSetter,
  bindBodyStream,
  isWebStream,
  storeForResponse,
} from '../context/body-streams.js';
import { runInRequestContext } from '../inbound/bind.js';
import { fromIncomingMessage } from '../inbound/carrier.js';
import { createEngine } from '../inbound/engine.js';
import { decideOnce } from '../inbound/once.js';
import type { GraylaneStats } from '../metrics/stats.js';
import { RoutedCarrier, splitTarget } from './routed-url.js';

/** The part of a koa context graylane uses, and `state` as koa types it (`DefaultState` is `any`). */
export interface KoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mirrors koa's DefaultState
  readonly state?: any;
}

/**
 * Koa options: `attributes`, `subject` and `onDecision` receive the koa context, so what
 * authentication put on it (`ctx.state.user`) is reachable. `C` is your context type.
 */
export type GraylaneKoaOptions<C extends KoaContextLike = KoaContextLike> = InboundOptions<C>;

/** Koa middleware with `stats()` attached. */
export type GraylaneKoaMiddleware<C extends KoaContextLike = KoaContextLike> = ((
  ctx: C,
  next: () => Promise<unknown>,
) => Promise<unknown>) & {
  stats(): GraylaneStats;
};

/**
 * Koa middleware. `app.use` it after logging and authentication and before the router; the
 * rest of the chain (`await next()`) runs inside the request's graylane context. Callbacks get
 * the koa context.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { graylaneKoa } from '@graylane/node/koa';
 * const app = new Koa();
 * app.use(authenticate); // sets ctx.state.user
 * app.use(graylaneKoa({ config, attributes: (ctx) => ({ userId: ctx.state.user?.id }) }));
 * app.use((ctx) => { ctx.body = getGrayVersion(); });
 * ```
 */
export function graylaneKoa<C extends KoaContextLike = KoaContextLike>(
  options: GraylaneKoaOptions<C>,
): GraylaneKoaMiddleware<C> {
  const engine = createEngine<C>(options);
  /** The application whose response bodies are bound (per request: one load and a compare). */
  let bodiesOf: unknown;
  const middleware = function graylaneKoaMiddleware(
    ctx: C,
    next: () => Promise<unknown>,
  ): Promise<unknown> {
    const app = (ctx as KoaMount).app;
    if (app !== bodiesOf) bodiesOf = bindKoaBodies(ctx, app);
    const outcome = decideOnce(engine, {
      key: ctx.req,
      req: ctx,
      carrier: koaCarrier(ctx, middleware),
      sink: ctx.res,
      bind: true,
      res: ctx.res,
    });
    if (outcome.edits?.query) editKoaUrls(ctx, outcome.edits);
    return runInRequestContext(outcome, next);
  };
  return Object.assign(middleware, { stats: () => engine.stats() });
}

/** Marks graylane's `body` setter on a koa response prototype (shared by every copy). */
const KOA_BODY = Symbol.for('@graylane/node.koaBody.v1');

/**
 * Koa pipes `ctx.body` in its `respond()`, after the middleware promise settled, outside the
 * request's context: a body produced on demand made each chunk with no lane (CTX-05). The `body`
 * setter of koa's response prototype (the object that owns it, koa 2's and 3's alike) is wrapped
 * once per process: a stream set as the body inside the request's context is bound to it
 * (context/body-streams.ts) — a Node stream (koa pipes every object with `pipe`), and on koa 3 a
 * Web `ReadableStream` or the stream of a `Response` (koa converts them with `Readable.from`). A
 * string, buffer, blob or JSON body costs a `typeof` or two. Returns `app` (bound now), never
 * throws (I1).
 */
function bindKoaBodies(ctx: KoaContextLike, app: unknown): unknown {
  afterSetter<KoaResponseLike>(
    (ctx as { response?: unknown }).response,
    'body',
    KOA_BODY,
    bindKoaBody,
  );
  return app;
}

/** The part of koa's response object the body setter reads. */
interface KoaResponseLike {
  readonly res?: unknown;
}

/** A body set inside the request's context: bound when it is a stream (see {@link bindKoaBodies}). */
function bindKoaBody(response: KoaResponseLike, value: object): void {
  try {
    let stream: unknown = value;
    if (typeof (value as { pipe?: unknown }).pipe !== 'function' && !isWebStream(value)) {
      // koa 3 streams a `Response`'s body (the same `ReadableStream` object on every read).
      const R = (globalThis as { Response?: abstract new (...a: never[]) => object }).Response;
      if (R === undefined || !(value instanceof R)) return;
      stream = (value as { body?: unknown }).body;
      if (!isWebStream(stream)) return;
    }
    const store = storeForResponse(response.res);
    if (store !== undefined) bindBodyStream(store, stream);
  } catch {
    // read as it is (I1)
  }
}

/** What koa-mount sets on the context: the prefix of the innermost mount it entered. */
interface KoaMount {
  readonly mountPath?: unknown;
  readonly originalUrl?: unknown;
  /** The application the request came in on; its own chain is `app.middleware`. */
  readonly app?: { readonly middleware?: unknown } | null;
}

/** The host koa reads (`ctx.host`: `X-Forwarded-Host` when `app.proxy`, h2's `:authority` first). */
const koaHost = (ctx: KoaContextLike): unknown => (ctx as { host?: unknown }).host;

/**
 * The request's carrier. koa-mount hands what it mounts `ctx.path` (so `req.url`) without its
 * prefix; rules name the path the client asked for (REQ-03), so under a mount (`ctx.mountPath`
 * set) the prefix is read back: see {@link mountedTarget}. koa-mount never clears
 * `ctx.mountPath`, and restores `ctx.path` when the request leaves the mount: graylane in the
 * application's own chain (`ctx.app.middleware`, where no mount can be around it) reads `req.url`
 * as it is, whatever a mount passed through earlier left there (D5b). A context whose reads throw
 * is read as it came (I1).
 */
function koaCarrier(ctx: KoaContextLike, self: unknown): InboundCarrier {
  const carrier = fromIncomingMessage(ctx.req, false, koaHost, ctx);
  let mount: unknown;
  let originalUrl: unknown;
  try {
    const c = ctx as KoaMount;
    mount = c.mountPath;
    if (typeof mount !== 'string' || mount.length < 2 || mount.charCodeAt(0) !== 0x2f)
      return carrier;
    const chain = c.app?.middleware;
    if (Array.isArray(chain) && chain.includes(self)) return carrier;
    originalUrl = c.originalUrl;
  } catch {
    return carrier;
  }
  const prefix = mount;
  return new RoutedCarrier(carrier, (url) => mountedTarget(url, originalUrl, prefix));
}

/**
 * The target a request under koa-mount asked for, from `url` (what graylane sees, the path below
 * the mount), `ctx.originalUrl` (the target as it arrived) and the innermost mount's prefix.
 * - What the mounts left is the tail of the path that arrived, after the prefix (at the mount
 *   path itself, `/`): the path that arrived (every mount's prefix, at any depth).
 * - Else the app rewrote the path before graylane (`ctx.url`, `ctx.path`), before the mount or
 *   below it: the rewrite counts, read under the innermost mount's prefix — unless the mount would
 *   take the path as it is: it was left (`ctx.mountPath` stays set) and the path is the one it was
 *   entered with, which is what the client asked for, or a rewrite of it at the root.
 * The query is the one graylane reads (`req.url`'s).
 */
function mountedTarget(url: string, originalUrl: unknown, mount: string): string {
  const [below, query] = splitTarget(url);
  if (typeof originalUrl === 'string') {
    // Read as graylane reads a target (origin form, the query where its widest reader starts it).
    const arrived = splitTarget(
      fromIncomingMessage({ headers: {}, url: originalUrl }).url ?? '',
    )[0];
    if (arrived === below) return url;
    const prefix = arrived.endsWith(below) ? arrived.slice(0, arrived.length - below.length) : '';
    // (`mount('/api/', …)` leaves `x` of `/api/x`, but `/x` of an absolute-form target.)
    const tail = mount.endsWith('/') && below.startsWith('/') ? `${prefix}/` : prefix;
    if ((below === '/' && arrived.endsWith(mount)) || (prefix !== '' && tail.endsWith(mount)))
      return arrived + query;
  }
  if (mountTakes(mount, below)) return url;
  const join = mount.endsWith('/') || below.startsWith('/') ? '' : '/';
  return mount + join + url;
}

/** Whether koa-mount's `mount(prefix, …)` takes `path` (its own test). */
function mountTakes(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return (
    prefix.endsWith('/') || path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f
  );
}

/** The URL copies koa made when it created the context (what `ctx.originalUrl` and the rest read). */
interface KoaUrls {
  originalUrl?: unknown;
  memoizedURL?: unknown;
  request?: KoaUrls;
}

/**
 * Koa copies the request target into `ctx.originalUrl` and `ctx.request.originalUrl` when it
 * creates the context, before any middleware runs, and `ctx.href`, `ctx.origin`-based
 * `ctx.URL` (memoised) read those copies. The carrier edit changed `req.url` (what `ctx.url`,
 * `ctx.query` and `ctx.querystring` read): apply the query edit to the copies too, so a marker
 * graylane removed is gone from every view the app has of the URL (GW-02). Never throws.
 */
function editKoaUrls(ctx: KoaContextLike, edits: CarrierEdits): void {
  const query = edits.query;
  if (!query) return;
  let request: unknown;
  try {
    request = (ctx as KoaUrls).request;
  } catch {
    // a context whose request throws: the context's own copies still go
  }
  for (const holder of [ctx as KoaUrls, request as KoaUrls | undefined]) {
    if (typeof holder !== 'object' || holder === null) continue;
    try {
      if (typeof holder.originalUrl === 'string')
        holder.originalUrl = applyQueryEdit(holder.originalUrl, query);
      // Rebuilt from `originalUrl` on the next read of `ctx.URL`.
      if (holder.memoizedURL !== undefined) holder.memoizedURL = undefined;
    } catch {
      // a frozen context keeps what it has
    }
  }
}

export type { GraylaneOptions } from '../options.js';
