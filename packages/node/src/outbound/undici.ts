import { currentStore } from '../context/storage.js';
import { bindHandler } from './bind.js';
import { flatAccess, toFlatList, type UndiciHeaders } from './header-list.js';
import { ensureHopGuard } from './hop-guard.js';
import { judgeDispatch } from './hop-dispatcher.js';
import { compileOutbound, type OutboundOptions } from './options.js';
import { planCall } from './plan.js';
import { runNoted } from './state.js';

/** The dispatch options graylane reads and extends (undici 6 and 7). */
export interface DispatchOptionsLike {
  readonly origin?: string | URL | undefined;
  readonly path: string;
  readonly headers?: UndiciHeaders;
}

/** An undici dispatch function. */
export type DispatchLike<O extends DispatchOptionsLike = DispatchOptionsLike, H = unknown> = (
  options: O,
  handler: H,
) => boolean;

/**
 * An undici interceptor (`Dispatcher#compose`, undici ≥ 6.20 / 7) that adds the current
 * request's marker to requests for allowlisted hosts. The caller's header object is never
 * mutated: a new flat header list is dispatched. A marker header the caller set is kept.
 *
 * Composed in either order with undici's `interceptors.redirect`, every hop is judged on its own
 * target (RDR-01/02): inside the redirect interceptor each hop passes through here; outside it,
 * graylane's `undici:request:create` listener removes the marker from hops that leave the
 * allowlist. The response callbacks (body `data`/`end`, `pipeline`) run in the caller's async
 * context, even on a kept-alive socket opened by another request (CTX-12).
 *
 * @example
 * ```ts
 * import { Agent, interceptors, request } from 'undici';
 * const agent = new Agent().compose(
 *   grayInterceptor({ allowHosts: ['orders.internal'] }),
 *   interceptors.redirect({ maxRedirections: 3 }),
 * );
 * await request('http://orders.internal/v1', { dispatcher: agent });
 * ```
 */
export function grayInterceptor(options?: OutboundOptions) {
  const allow = compileOutbound(options);
  ensureHopGuard();
  return function graylaneInterceptor<O extends DispatchOptionsLike, H>(
    dispatch: DispatchLike<O, H>,
  ): DispatchLike<O, H> {
    return function graylaneDispatch(opts, handler) {
      if (currentStore() === undefined) return dispatch(opts, handler);
      let bound = handler;
      let plan;
      let list: string[] = [];
      try {
        if (typeof handler === 'object' && handler !== null) bound = bindHandler(handler);
        list = toFlatList(opts.headers);
        plan = planCall(allow, flatAccess(list));
      } catch {
        plan = undefined;
      }
      if (plan === undefined) return dispatch(opts, bound);
      const judged = judgeDispatch(plan, opts, true, list);
      return runNoted(plan, () => dispatch(judged, bound));
    };
  };
}
