import { GraylaneError } from '@graylane/core';
import { countFallback } from '../metrics/stats.js';
import { pick } from './branch.js';
import { currentStore } from './storage.js';

/** Options of {@link grayHandlers}. */
export interface GrayHandlersOptions {
  /** The version whose handler serves versions without one here (lane fallback). Required. */
  readonly fallback: string;
}

/**
 * A handler registry by version — the seed's `map[string]http.Handler`. The returned handler
 * has the same signature as the ones in the map (express/connect, koa, fastify, hono, plain
 * functions) and dispatches on the current version. A version without a handler here is served
 * by `fallback` (**lane fallback**): the fallback is recorded (`tryGetGrayLane()`, the
 * `graylane.lane.fallbacks` counter) and the decided marker keeps travelling unchanged to the
 * next hop, which may have that version.
 *
 * @throws GraylaneError `INVALID_OPTIONS` when `fallback` has no handler in the map.
 * @example
 * ```ts
 * app.get('/checkout', grayHandlers({ beta: checkoutV2, stable: checkoutV1 }, { fallback: 'stable' }));
 * ```
 */
export function grayHandlers<H extends (...args: never[]) => unknown>(
  handlers: Readonly<Partial<Record<string, H>>>,
  options: GrayHandlersOptions,
): H {
  const fallback = pick(handlers, options.fallback);
  if (!fallback) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `grayHandlers: the fallback ${JSON.stringify(options.fallback)} has no handler`,
    );
  }
  const dispatch = function grayHandlersDispatch(
    this: unknown,
    ...args: Parameters<H>
  ): ReturnType<H> {
    const store = currentStore();
    const wanted = store?.decision.version;
    const own = pick(handlers, wanted);
    if (own) return own.apply(this, args) as ReturnType<H>;
    if (store && wanted !== undefined) {
      store.lane = options.fallback;
      countFallback(wanted, options.fallback);
    }
    return fallback.apply(this, args) as ReturnType<H>;
  };
  return dispatch as unknown as H;
}
