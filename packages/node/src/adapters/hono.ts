/**
 * `@graylane/node/hono` — a hono middleware. Hono is not imported; its context is typed
 * structurally. On `@hono/node-server` the Node request (`c.env.incoming`) is read, so raw
 * header values, the peer address and TLS are exact; elsewhere the Fetch `Request` is used.
 */
import type { IncomingMessage } from 'node:http';
import {
  applyQueryEdit,
  fromFetchRequest,
  type CarrierEdits,
  type FetchRequestLike,
  type InboundOptions,
} from '@graylane/core';
import { runInRequestContext } from '../inbound/bind.js';
import { fromIncomingMessage, routerTarget } from '../inbound/carrier.js';
import { createEngine } from '../inbound/engine.js';
import { decideOnce } from '../inbound/once.js';
import type { ResponseSink } from '../inbound/node-response.js';
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
  };
  readonly env?: unknown;
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
 * marker it did not honour is gone for handlers and proxies alike (GW-02).
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
  // Not `async`: the promise hono awaits is `next()`'s own, entered in the request's context, so
  // no second promise and await per request (issue 20). `decideOnce` never throws.
  const middleware = function graylaneHonoMiddleware(
    c: C,
    next: () => Promise<void>,
  ): Promise<void> {
    const incoming = nodeIncoming(c.env);
    const outcome = decideOnce(engine, {
      // `c.req` only off Node: hono builds its request wrapper on first access.
      key: incoming ?? c.req.raw,
      req: c,
      carrier: incoming ? fromIncomingMessage(incoming) : honoCarrier(c),
      bind: false,
      sink: new HonoSink(c),
    });
    if (outcome.edits && incoming) editRequest(c, outcome.edits);
    return runInRequestContext(outcome, next);
  };
  return Object.assign(middleware, { stats: () => engine.stats() });
}

/** Writes to hono's response headers (a class: no closures per request). */
class HonoSink implements ResponseSink {
  constructor(private readonly c: HonoContextLike) {}
  appendCookie(value: string): void {
    this.c.header('set-cookie', value, { append: true });
  }
  setHeader(name: string, value: string): void {
    this.c.header(name, value);
  }
  removeHeader(name: string): void {
    this.c.header(name, undefined);
  }
}

/** A carrier over `c.req.raw` whose edits go to that request (and replace it for the query). */
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
    // Edited as graylane read the target (see routerTarget): no router finds the marker after.
    c.req.raw = new Req(applyQueryEdit(routerTarget(raw.url), edits.query), init);
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

export type { GraylaneOptions } from '../options.js';
