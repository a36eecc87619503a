/**
 * `@graylane/node/express` — the express (4/5) and connect adapter. Express is not imported:
 * its request and response extend Node's, which is all graylane reads.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGraylane, type Graylane, type NextFunction } from '../inbound/graylane.js';
import type { GraylaneOptions } from '../options.js';

/** Express middleware with the graylane instance attached (for `stats()` and `store`). */
export type GraylaneExpressMiddleware = ((
  req: IncomingMessage,
  res: ServerResponse,
  next: NextFunction,
) => void) & {
  readonly graylane: Graylane;
};

/**
 * Express/connect middleware. Mount it after logging and authentication (so `attributes(req)`
 * sees `req.user`) and before the routes. Handlers then read `getGrayVersion()`.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { graylaneExpress } from '@graylane/node/express';
 * const app = express();
 * app.use(authenticate);
 * app.use(graylaneExpress({ config, attributes: (req) => ({ userId: (req as AuthedRequest).user?.id }) }));
 * app.get('/', (req, res) => res.send(getGrayVersion()));
 * ```
 */
export function graylaneExpress(options: GraylaneOptions): GraylaneExpressMiddleware {
  const gray = createGraylane(options);
  const middleware = gray.middleware as GraylaneExpressMiddleware;
  Object.defineProperty(middleware, 'graylane', { value: gray });
  return middleware;
}

export type { GraylaneOptions } from '../options.js';
