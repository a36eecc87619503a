import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  GraylaneError,
  createStatusEndpoint,
  type ConfigStore,
  type StatusEndpointOptions,
  type StatusReport,
  type StatusStatsLike,
} from '@graylane/core';
import { coverageReported } from '../coverage/stats.js';
import { fastifyStatus, type StatusFastifyHook } from './fastify.js';
import { koaStatus, type StatusKoaMiddleware } from './koa.js';
import { statusPath, toStatusRequest } from './request.js';
import { writeStatus, type AnswerStatus } from './write.js';

/** Options of {@link createStatusHandler}. */
export interface StatusHandlerOptions extends Omit<
  StatusEndpointOptions,
  'store' | 'stats' | 'randomNonce'
> {
  /**
   * The graylane instance whose config and counters the page shows: `createGraylane(...)`, or
   * `{ store, stats }` for the koa/fastify adapters.
   */
  readonly graylane: { readonly store: ConfigStore; stats?: (() => StatusStatsLike) | undefined };
  /**
   * The app's CSP nonce for this response (e.g. `(req, res) => res.locals.cspNonce`), so the
   * page's script and style run under the app's own policy. Default: a fresh random nonce.
   */
  readonly nonce?: ((req: IncomingMessage, res: ServerResponse) => string | undefined) | undefined;
}

/** What {@link createStatusHandler} returns: one endpoint, mountable on each framework. */
export interface StatusHandler {
  /**
   * node:http and connect/express: answers the status paths; anything else goes to `next`
   * (or gets a 404 when there is no `next`).
   */
  readonly middleware: (
    req: IncomingMessage,
    res: ServerResponse,
    next?: (err?: unknown) => void,
  ) => void;
  /** Koa middleware: `app.use(status.koa)`. */
  readonly koa: StatusKoaMiddleware;
  /** A fastify `onRequest` hook: `app.addHook('onRequest', status.fastify)`. */
  readonly fastify: StatusFastifyHook;
  /** The report the JSON endpoint serves. */
  report(): StatusReport;
  /** Stops listening to the store's reload events. Idempotent. */
  close(): void;
}

/**
 * The status page for Node: JSON for machines at `${path}/status.json`, an HTML page with a live
 * traffic chart at `path` (default `/graylane/status`). Off by default (`enabled: true` turns it
 * on); then loopback-only, or bearer-token protected when `token` is set. Throws only on bad
 * options. Mount it next to health checks, before the app's own routes.
 *
 * @example
 * ```ts
 * const status = createStatusHandler({ graylane: gray, sources, enabled: true });
 * app.use(status.middleware); // express
 * http.createServer((req, res) => status.middleware(req, res, () => app(req, res))); // node:http
 * ```
 */
export function createStatusHandler(options: StatusHandlerOptions): StatusHandler {
  if (typeof options?.graylane !== 'object' || options.graylane === null)
    throw new GraylaneError('INVALID_OPTIONS', 'createStatusHandler: graylane is required');
  const { graylane, nonce, ...rest } = options;
  const stats = graylane.stats;
  const endpoint = createStatusEndpoint({
    ...rest,
    store: graylane.store,
    stats: stats ? () => stats.call(graylane) : undefined,
    // Propagation coverage (installCoverage), unless the caller reports its own.
    propagation: rest.propagation ?? coverageReported,
    randomNonce: () => randomBytes(16).toString('base64'),
  });
  const answer: AnswerStatus = (req, res, originalUrl) => {
    const path = statusPath(req, originalUrl);
    // Every request of the app passes here: anything else costs one path comparison.
    if (!endpoint.matches(path)) return undefined;
    const appNonce = nonce && res ? () => nonce(req as IncomingMessage, res) : undefined;
    return endpoint.handle(toStatusRequest(req, path, appNonce));
  };
  return {
    middleware: function graylaneStatus(req, res, next) {
      const response = answer(req, res);
      if (response) writeStatus(res, response);
      else if (next) next();
      else
        writeStatus(res, {
          status: 404,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: 'not found\n',
        });
    },
    koa: koaStatus(answer),
    fastify: fastifyStatus(answer),
    report: () => endpoint.report(),
    close: () => endpoint.close(),
  };
}
