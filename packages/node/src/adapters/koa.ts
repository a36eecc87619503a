/**
 * `@graylane/node/koa` — the koa (2/3) adapter. Koa is not imported; the context is typed
 * structurally.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runInRequestContext } from '../inbound/bind.js';
import { createEngine } from '../inbound/engine.js';
import { decideOnce } from '../inbound/graylane.js';
import { nodeSink } from '../inbound/node-response.js';
import type { GraylaneStats } from '../metrics/stats.js';
import type { GraylaneOptions } from '../options.js';

/** The part of a koa context graylane uses. */
export interface KoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

/** Koa middleware with `stats()` attached. */
export type GraylaneKoaMiddleware = ((
  ctx: KoaContextLike,
  next: () => Promise<unknown>,
) => Promise<unknown>) & {
  stats(): GraylaneStats;
};

/**
 * Koa middleware. `app.use` it after logging and authentication and before the router; the
 * rest of the chain (`await next()`) runs inside the request's graylane context.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { graylaneKoa } from '@graylane/node/koa';
 * const app = new Koa();
 * app.use(graylaneKoa({ config }));
 * app.use((ctx) => { ctx.body = getGrayVersion(); });
 * ```
 */
export function graylaneKoa(options: GraylaneOptions): GraylaneKoaMiddleware {
  const engine = createEngine<IncomingMessage>(options);
  const middleware = function graylaneKoaMiddleware(
    ctx: KoaContextLike,
    next: () => Promise<unknown>,
  ): Promise<unknown> {
    const outcome = decideOnce(engine, ctx.req, nodeSink(ctx.res), ctx.res);
    return runInRequestContext(outcome, () => next());
  };
  return Object.assign(middleware, { stats: () => engine.stats() });
}

export type { GraylaneOptions } from '../options.js';
