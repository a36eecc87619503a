import { compileOutbound, type OutboundOptions } from './options.js';
import { flatAccess, toFlatList, withoutHeader, type UndiciHeaders } from './header-list.js';
import { planInjection } from './plan.js';

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
 * @example
 * ```ts
 * import { Agent, setGlobalDispatcher } from 'undici';
 * const agent = new Agent().compose(grayInterceptor({ allowHosts: ['orders.internal'] }));
 * await request('http://orders.internal/v1', { dispatcher: agent });
 * ```
 */
export function grayInterceptor(options?: OutboundOptions) {
  const allow = compileOutbound(options);
  return function graylaneInterceptor<O extends DispatchOptionsLike, H>(
    dispatch: DispatchLike<O, H>,
  ): DispatchLike<O, H> {
    return function graylaneDispatch(opts, handler) {
      return dispatch(injectDispatch(opts, allow), handler);
    };
  };
}

/** @internal Returns `opts` unchanged, or a copy with the marker added. Never throws. */
export function injectDispatch<O extends DispatchOptionsLike>(
  opts: O,
  allow: ReturnType<typeof compileOutbound>,
): O {
  try {
    const url = targetUrl(opts);
    const list = toFlatList(opts.headers);
    const plan = planInjection(url, flatAccess(list), allow);
    if (!plan) return opts;
    const next = plan.baggage === undefined ? list : withoutHeader(list, 'baggage');
    next.push(plan.header, plan.version);
    if (plan.baggage !== undefined) next.push('baggage', plan.baggage);
    return { ...opts, headers: next };
  } catch {
    return opts;
  }
}

/** The allowlist decides on the origin the request is dispatched to; the path never matters. */
function targetUrl(opts: DispatchOptionsLike): string | undefined {
  return opts.origin === undefined ? undefined : String(opts.origin);
}
