import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnswerStatus } from './write.js';

/** The part of a koa context the status page uses (koa is not imported). */
export interface StatusKoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly originalUrl: string;
  status: number;
  body: unknown;
  set(fields: Record<string, string>): void;
}

/** Koa middleware serving the status page. */
export type StatusKoaMiddleware = (
  ctx: StatusKoaContextLike,
  next: () => Promise<unknown>,
) => Promise<unknown>;

/** @internal Koa middleware over the endpoint: koa writes the answer (and drops HEAD bodies). */
export function koaStatus(answer: AnswerStatus): StatusKoaMiddleware {
  return function graylaneStatusKoa(ctx, next) {
    const response = answer(ctx.req, ctx.res, ctx.originalUrl);
    if (!response) return next();
    ctx.status = response.status;
    ctx.set({ ...response.headers });
    ctx.body = response.body;
    return Promise.resolve();
  };
}
