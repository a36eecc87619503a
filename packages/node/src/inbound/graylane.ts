import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConfigStore, Decision } from '@graylane/core';
import type { GraylaneStats } from '../metrics/stats.js';
import type { GraylaneOptions } from '../options.js';
import { bindRequestEmitters } from '../context/emitters.js';
import { runInRequestContext } from './bind.js';
import { fromIncomingMessage, type IncomingMessageLike } from './carrier.js';
import { createEngine, type InboundEngine, type InboundOutcome } from './engine.js';
import { applyOutcome, nodeSink, type ResponseSink } from './node-response.js';

/** Connect/express `next`. */
export type NextFunction = (err?: unknown) => void;

/** The inbound side of graylane for one app (NODE_API_CONTRACT "Inbound"). */
export interface Graylane {
  /** Connect/express middleware (a named function, `graylaneMiddleware`). */
  middleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** node:http: decides, binds the context and runs `fn` inside it. */
  handle<T>(req: IncomingMessage, res: ServerResponse, fn: () => T): T;
  /** Decides without binding a context or touching the response (gateways, tests). */
  decideRequest(req: IncomingMessage): Decision;
  /** The config store in force (swap configs through it; requests read its snapshot). */
  readonly store: ConfigStore;
  /** In-process counters snapshot. */
  stats(): GraylaneStats;
}

const DECIDED = Symbol.for('@graylane/node.outcome');
type Marked = { [DECIDED]?: InboundOutcome };

/**
 * Creates graylane for an app. Throws only on bad options or an invalid config (construction
 * time); per request it never throws and never rejects (I1, I3). Mount it after logging and
 * authentication (so `attributes(req)` can see the user) and before business handlers.
 *
 * @example
 * ```ts
 * const gray = createGraylane({ config: { versions: ['stable', 'beta'], default: 'stable' }, allowHosts: ['orders.internal'] });
 * http.createServer((req, res) => gray.handle(req, res, () => app(req, res))).listen(8080);
 * ```
 */
export function createGraylane(options: GraylaneOptions): Graylane {
  const engine = createEngine<IncomingMessage>(options);
  return {
    middleware: function graylaneMiddleware(req, res, next) {
      const outcome = decideOnce(engine, req, nodeSink(res), res);
      runInRequestContext(outcome, () => next());
    },
    handle: (req, res, fn) => runInRequestContext(decideOnce(engine, req, nodeSink(res), res), fn),
    decideRequest: (req) => engine.evaluate(fromIncomingMessage(req), req).decision,
    store: engine.options.store,
    stats: () => engine.stats(),
  };
}

/**
 * Connect/express middleware in one call: `graylane(options) === createGraylane(options).middleware`.
 *
 * @example
 * ```ts
 * app.use(auth());
 * app.use(graylane({ config, attributes: (req) => ({ userId: req.user?.id }) }));
 * ```
 */
export function graylane(options: GraylaneOptions): Graylane['middleware'] {
  return createGraylane(options).middleware;
}

/**
 * @internal Decides once per request object: a second graylane layer on the same request (an
 * app and a router both mounting it) reuses the first decision instead of re-deciding. Keyed on
 * the request itself, never on the ambient context, so a server started inside some other
 * context never leaks that context into its requests.
 */
export function decideOnce<R extends IncomingMessageLike>(
  engine: InboundEngine<R>,
  req: R,
  sink: ResponseSink | undefined,
  res?: object,
): InboundOutcome {
  const marked = req as R & Marked;
  const previous = marked[DECIDED];
  if (previous) return previous;
  const outcome = engine.evaluate(fromIncomingMessage(req), req);
  bindRequestEmitters(
    outcome.store,
    req as unknown as Parameters<typeof bindRequestEmitters>[1],
    res as Parameters<typeof bindRequestEmitters>[1],
  );
  try {
    marked[DECIDED] = outcome;
  } catch {
    // A frozen request object just gets decided again by a second layer.
  }
  if (sink) applyOutcome(sink, outcome);
  return outcome;
}
