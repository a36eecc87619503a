import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraylaneError, type ConfigStore, type Decision } from '@graylane/core';
import type { GraylaneStats } from '../metrics/stats.js';
import type { GraylaneOptions } from '../options.js';
import { runInRequestContext } from './bind.js';
import { fromIncomingMessage, type IncomingMessageLike } from './carrier.js';
import { createEngine } from './engine.js';
import { decideOnce, type DecideOnceInput } from './once.js';

/** Connect/express `next`. */
export type NextFunction = (err?: unknown) => void;

/** The inbound side of graylane for one app (NODE_API_CONTRACT "Inbound"). */
export interface Graylane {
  /** Connect/express middleware (a named function, `graylaneMiddleware`). */
  middleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** node:http: decides, binds the context and runs `fn` inside it. */
  handle<T>(req: IncomingMessage, res: ServerResponse, fn: () => T): T;
  /**
   * Decides without binding a context or touching the response (gateways, tests). Like the
   * middleware it decides once per request (a later layer reuses it) and normalises the marker
   * carriers the app and proxies see (GW-01). Throws `INVALID_OPTIONS` when `req` is not an
   * object (nothing, a string); an object without a request's fields decides as a request with
   * no markers, headers or path (the rules' default unless a rule matches on nothing).
   */
  decideRequest(req: IncomingMessage): Decision;
  /**
   * A WebSocket (or any HTTP/1.1 `Upgrade`) handshake: Node emits `upgrade`, not `request`, so
   * no middleware sees it. Decides as the middleware would (once per request), normalises the
   * marker carriers of `req` (GW-02: what `proxy.ws` / `proxy.upgrade` then forward) and runs
   * `fn` in the request's context, so `installGlobal` or an interceptor carries the decided
   * version on the proxied handshake. Writes no cookie or debug header: the handshake's response
   * belongs to the proxy or the WebSocket server.
   *
   * @example
   * ```ts
   * server.on('upgrade', (req, socket, head) =>
   *   gray.upgrade(req, () => proxy.ws(req, socket, head)),
   * );
   * ```
   */
  upgrade<T>(req: IncomingMessage, fn: () => T): T;
  /** The config store in force (swap configs through it; requests read its snapshot). */
  readonly store: ConfigStore;
  /** In-process counters snapshot. */
  stats(): GraylaneStats;
}

/**
 * Creates graylane for an app. Throws only on bad options or an invalid config (construction
 * time); per request it never throws and never rejects (I1, I3). Mount it after logging and
 * authentication (so `attributes(req)` can see the user) and before business handlers.
 * Creating it installs graylane's listener wrappers on Node's `IncomingMessage` and
 * `ServerResponse` prototypes, once per process, so the listeners a request's handler adds to
 * `req`/`res` run in its context from the first request on (CTX-05).
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
      runInRequestContext(decideOnce(engine, nodeInput(req, res)), next);
    },
    handle: (req, res, fn) => runInRequestContext(decideOnce(engine, nodeInput(req, res)), fn),
    decideRequest: (req) => {
      // Nothing or a primitive from plain JS is a mistake in code, not a request (I1 is for
      // requests): an object without a request's fields decides as a request without markers.
      if (typeof req !== 'object' || req === null)
        throw new GraylaneError('INVALID_OPTIONS', 'decideRequest: pass the IncomingMessage');
      return decideOnce(engine, { key: req, req, carrier: fromIncomingMessage(req), bind: false })
        .decision;
    },
    upgrade: (req, fn) =>
      runInRequestContext(
        decideOnce(engine, { key: req, req, carrier: fromIncomingMessage(req), bind: true }),
        fn,
      ),
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

const expressHost = (req: object): unknown => (req as { hostname?: unknown }).hostname;

/** @internal The decide-once input for a Node request/response pair. */
export function nodeInput<R extends IncomingMessageLike>(
  req: R,
  res: ServerResponse | undefined,
): DecideOnceInput<R> {
  // Under express (its request has a `hostname` getter) the rules read express's host.
  const carrier = fromIncomingMessage(req, false, 'hostname' in req ? expressHost : undefined, req);
  return { key: req, req, carrier, sink: res, bind: true, res };
}
