/**
 * `@graylane/web/hono` — a runtime-neutral hono middleware (Workers, Deno, Bun, Vercel Edge and
 * `@hono/node-server`). Hono is not imported; its context is typed structurally. The lane goes
 * on the hono context: `c.get('grayVersion')`, typed through {@link GrayVariables}.
 */
import { applyQueryEdit, type Decision, type QueryEdit } from '@graylane/core';
import { runInLane } from './context/run.js';
import type { GrayLane } from './context/storage.js';
import { createGraylane, type WebGraylane, type WebGraylaneOptions } from './inbound/engine.js';
import { withEdits } from './inbound/forward.js';
import { runtimePeer } from './inbound/peer.js';
import type { WebGraylaneStats } from './metrics/decisions.js';
import { write, type ResponseWrites } from './response/apply.js';

/** Context variables the middleware sets: `new Hono<{ Variables: GrayVariables }>()`. */
export interface GrayVariables {
  grayVersion: string;
  grayDecision: Decision;
  grayLane: GrayLane;
}

/** The part of a hono context graylane uses. */
export interface HonoContextLike {
  /** `path`: the path hono computed when the request arrived (a field, not read from `raw`). */
  readonly req: { raw: Request; path?: string };
  set(key: string, value: unknown): void;
  get(key: string): unknown;
  /** The response after the chain ran; assigning copies it into a mutable one (hono's setter). */
  res: Response;
  /** Throws in hono when the runtime has no execution context (Node, Bun, Deno). */
  readonly executionCtx?: { waitUntil(promise: Promise<unknown>): void };
  /** The runtime's second `fetch` argument: the peer is read from it where it has one. */
  readonly env?: unknown;
}

/** Options of {@link graylaneHono}: the Web engine's, `remoteAddress` given the context too. */
export interface GraylaneHonoOptions extends Omit<WebGraylaneOptions, 'remoteAddress'> {
  /**
   * `edge` mode: the peer compared with `trustedProxies` where the runtime reports none. On
   * @hono/node-server, Bun and Deno the middleware reads the socket peer from the runtime
   * (`'unix'` on a Unix domain socket) and this option is not called: a header there is client
   * input. On Cloudflare Workers: `(req) => req.headers.get('cf-connecting-ip') ?? undefined`.
   */
  readonly remoteAddress?:
    ((request: Request, c: HonoContextLike) => string | undefined) | undefined;
}

/** The middleware, with the engine attached (`store`, `refresh`, `stats`). */
export type GraylaneHonoMiddleware = ((
  c: HonoContextLike,
  next: () => Promise<void>,
) => Promise<void>) & {
  readonly gray: WebGraylane;
  stats(): WebGraylaneStats;
};

/**
 * Hono middleware: decides with the Web engine, sets `grayVersion` / `grayDecision` /
 * `grayLane` on the context, runs the rest of the chain in the lane (so `withGray(fetch)` and
 * `getGrayVersion()` work where the runtime has an `AsyncLocalStorage`), and adds the sticky
 * cookies and debug header to the response. In `edge` mode downstream handlers see the request
 * without the client's carriers (GW-02).
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { graylaneHono, type GrayVariables } from '@graylane/web/hono';
 * const app = new Hono<{ Variables: GrayVariables }>();
 * app.use(graylaneHono({ config: { versions: ['stable', 'beta'], default: 'stable' } }));
 * app.get('/', (c) => c.text(`lane ${c.get('grayVersion')}`));
 * export default app;
 * ```
 */
export function graylaneHono(options: GraylaneHonoOptions): GraylaneHonoMiddleware {
  // The engine never calls `remoteAddress`: the middleware passes the peer with each request.
  const gray = createGraylane(options as WebGraylaneOptions);
  const middleware = async function graylaneHonoMiddleware(
    c: HonoContextLike,
    next: () => Promise<void>,
  ): Promise<void> {
    const waitUntil = executionWaitUntil(c);
    const outcome = await gray.decide(c.req.raw, { waitUntil, remoteAddress: peerOf(c, options) });
    c.set('grayVersion', outcome.decision.version);
    c.set('grayDecision', outcome.decision);
    c.set('grayLane', outcome.lane);
    if (outcome.edits !== undefined) {
      try {
        // What Node's adapters do to the request, in every mode (GW-01/02): the carriers the
        // decision did not keep, and the bucket header.
        c.req.raw = withEdits(c.req.raw, outcome.edits);
        followPath(c.req, outcome.edits.query);
      } catch {
        // A read-only request stays as it is; the decision already ignored its carriers.
      }
    }
    await runInLane(outcome.lane, () => next());
    // A second graylane on this context (mounted twice, a sub-app, a stricter instance) decided
    // again, and the handler was served its decision: only that one's cookies go out.
    if (c.get('grayDecision') === outcome.decision) writeBack(c, outcome);
  };
  return Object.assign(middleware, { gray, stats: () => gray.stats() });
}

/**
 * Writes the sticky cookies and the debug header onto the response the chain produced — after
 * it, because a handler may return any `Response` itself (a proxied `fetch`, `Response.redirect`,
 * a stream), which hono sends without what `c.header()` prepared (STK-02). Immutable headers:
 * hono's `c.res` setter re-creates the response with mutable ones, then they are written.
 */
function writeBack(c: HonoContextLike, writes: ResponseWrites): void {
  if (writes.setCookies.length === 0 && writes.debugHeader === undefined) return;
  try {
    write(c.res.headers, writes);
    return;
  } catch {
    // Immutable headers (a fetched response, Response.redirect): let hono copy it first.
  }
  try {
    // hono's setter copies an immutable response into a mutable one (a self-assignment on purpose).
    const current = c.res;
    c.res = current;
    write(c.res.headers, writes);
  } catch {
    // A response that cannot take headers is sent as it is (I1).
  }
}

/**
 * hono reads `c.req.url`, the query and the headers from `raw`, but computed `c.req.path` when
 * the request arrived (its `getPath`, decoded): the `;gray=…` parameters edge and signed mode
 * remove from the URL go from it too, so the two agree (GW-02). decodeURI, which hono's path
 * decoding uses, leaves `;`, `&`, `=`, `/` and `?` encoded, so the parameters are the URL's. The
 * router matched before any middleware ran: the route and `c.req.param()` keep the path as it
 * came (documented).
 */
function followPath(req: { path?: string }, query: QueryEdit | undefined): void {
  if (query?.semicolons !== true || typeof req.path !== 'string') return;
  req.path = applyQueryEdit(req.path, {
    remove: query.remove,
    append: undefined,
    semicolons: true,
  });
}

/**
 * The peer of the request (D1): the runtime's socket peer where it reports one (never a header a
 * client can send), else what the `remoteAddress` option says. Never throws.
 */
function peerOf(c: HonoContextLike, options: GraylaneHonoOptions): string | undefined {
  const raw = c.req.raw;
  const peer = runtimePeer(c.env, raw);
  if (peer !== false) return peer;
  try {
    return options.remoteAddress?.(raw, c);
  } catch {
    return undefined;
  }
}

function executionWaitUntil(c: HonoContextLike): ((p: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return ctx ? (p) => ctx.waitUntil(p) : undefined;
  } catch {
    return undefined;
  }
}

export type { WebGraylaneOptions } from './inbound/engine.js';
