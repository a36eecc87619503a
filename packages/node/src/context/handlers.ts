import { GraylaneError } from '@graylane/core';
import { pick } from './branch.js';
import { plainNodeResponse, recordLane } from './lane-outcome.js';
import { resolveLane, type LaneTable } from './lanes.js';
import { currentStore } from './storage.js';
import { GrayLaneUnavailableError } from './unavailable.js';

/** Options of {@link grayHandlers}. */
export interface GrayHandlersOptions {
  /**
   * The version whose handler serves versions without one here (lane fallback). Required
   * without `lanes`; with `lanes` it overrides the table's fallback for this map.
   */
  readonly fallback?: string;
  /**
   * The service's lane table ({@link defineLanes}): which versions it implements and its policy
   * for the others — `fallback`, `strict` (a {@link GrayLaneUnavailableError}: 503 from express,
   * koa, fastify and hono's error handling; a plain `(req, res)` handler answers 503 itself) or a
   * function choosing the lane.
   */
  readonly lanes?: LaneTable;
}

/**
 * A handler registry by version — the seed's `map[string]http.Handler`. The returned handler
 * has the same signature as the ones in the map (express/connect, koa, fastify, hono, plain
 * functions) and dispatches on the current version. A version without a handler here is served
 * by `fallback` (**lane fallback**): the fallback is recorded (`tryGetGrayLane()`, the
 * `graylane.lane.fallbacks` counter, the span attribute `graylane.lane.fallback`, `lane=` in the
 * debug header) and the decided marker keeps travelling unchanged to the next hop, which may
 * have that version. With `lanes`, the table's policy decides instead (issue 19).
 *
 * @throws GraylaneError `INVALID_OPTIONS` when the fallback has no handler in the map.
 * @example
 * ```ts
 * app.get('/checkout', grayHandlers({ beta: checkoutV2, stable: checkoutV1 }, { fallback: 'stable' }));
 * ```
 */
export function grayHandlers<H extends (...args: never[]) => unknown>(
  handlers: Readonly<Partial<Record<string, H>>>,
  options: GrayHandlersOptions,
): H {
  const lanes = options?.lanes;
  const fallbackName = options?.fallback ?? lanes?.fallback;
  const fallback = pick(handlers, fallbackName);
  if (!fallback || fallbackName === undefined) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `grayHandlers: the fallback ${JSON.stringify(fallbackName)} has no handler`,
    );
  }
  const has = (lane: string): boolean => pick(handlers, lane) !== undefined;
  const dispatch = function grayHandlersDispatch(
    this: unknown,
    ...args: Parameters<H>
  ): ReturnType<H> {
    const store = currentStore();
    const wanted = store?.decision.version;
    if (lanes === undefined) {
      const own = pick(handlers, wanted);
      if (own) return own.apply(this, args) as ReturnType<H>;
      if (store && wanted !== undefined) recordLane(store, wanted, fallbackName, args);
      return fallback.apply(this, args) as ReturnType<H>;
    }
    const r = resolveLane(lanes, wanted, has, fallbackName);
    if (r.kind === 'own') return (pick(handlers, r.lane) as H).apply(this, args) as ReturnType<H>;
    if (r.kind === 'fallback') {
      if (wanted !== undefined) recordLane(store, wanted, r.lane, args);
      return (pick(handlers, r.lane) as H).apply(this, args) as ReturnType<H>;
    }
    recordLane(store, wanted as string, undefined, args);
    const error = new GrayLaneUnavailableError(wanted as string);
    const res = plainNodeResponse(args);
    if (res === undefined) throw error;
    if (!res.headersSent) {
      res.statusCode = 503;
      res.setHeader('content-type', 'application/json');
    }
    res.end(JSON.stringify({ error: 'lane_unavailable', version: error.version }));
    return undefined as ReturnType<H>;
  };
  return dispatch as unknown as H;
}
