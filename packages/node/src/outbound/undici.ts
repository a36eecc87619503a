import { AsyncResource } from 'node:async_hooks';
import { currentStore } from '../context/storage.js';
import { tagHandler } from './bind.js';
import { flatAccess, toFlatList, type UndiciHeaders } from './header-list.js';
import { ensureHopGuard } from './hop-guard.js';
import { judgeDispatch } from './hop-dispatcher.js';
import { compileOutbound, type OutboundOptions } from './options.js';
import {
  announcing,
  dispatchingFrom,
  forgetNote,
  hookOrigin,
  learningFrom,
  ownOriginCall,
} from './origin.js';
import { planCall, type HopPlan } from './plan.js';
import { outboundState, runNoted } from './state.js';

/**
 * The dispatch options graylane reads and extends: every supported undici's `DispatchOptions`
 * (6, 7, 8) must fit it, or `Dispatcher#compose` cannot infer the interceptor's options type.
 */
export interface DispatchOptionsLike {
  readonly origin?: string | URL | undefined;
  readonly path: string;
  readonly method?: string;
  readonly headers?: UndiciHeaders;
}

/** An undici dispatch function. */
export type DispatchLike<O extends DispatchOptionsLike = DispatchOptionsLike, H = unknown> = (
  options: O,
  handler: H,
) => boolean;

/**
 * An undici interceptor (`Dispatcher#compose`, undici ≥ 6.20, 7 and 8) that adds the current
 * request's marker to requests for allowlisted hosts. The caller's header object is never
 * mutated: a new flat header list is dispatched. A marker header the caller set is kept.
 *
 * Composed in either order with undici's `interceptors.redirect`, every hop is judged on its own
 * target (RDR-01/02): inside the redirect interceptor each hop passes through here; outside it,
 * graylane's `undici:request:create` listener removes the marker from hops that leave the
 * allowlist. The response callbacks (body `data`/`end`, `pipeline`) run in the caller's async
 * context, even on a kept-alive socket opened by another request (CTX-12), and a call a
 * connection-limited pool queues goes out with its caller's version, not the version of the
 * request that freed the connection (I7): the decision is made here, at dispatch time.
 *
 * On a `Client` or `Pool` called without `origin`, the host is the dispatcher's own, judged
 * where undici creates the request. A call the pool queues is recognised there only through
 * the options this interceptor dispatched; an interceptor composed inside this one that
 * dispatches a copy of them (`interceptors.redirect`) hides it, and such a call goes out
 * without a marker (fail closed): compose `grayInterceptor()` inside the redirect interceptor.
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
    // The hosts `dispatch` (a Client's, a Pool's) creates requests on, learned (origin.ts).
    const hosts = new Set<string>();
    return function graylaneDispatch(opts, handler) {
      // A Client or Pool dispatches to its own origin when the options name none: that host is
      // known only where undici creates the request, so it is judged there (hop-guard.ts), and
      // learned from the requests undici creates inside such dispatches (origin.ts).
      const own =
        opts.origin === undefined || opts.origin === null ? ownOriginCall(opts, hosts) : undefined;
      // No lane, or a graylane hook further out already judged this synchronous dispatch.
      if (currentStore() === undefined || outboundState().dispatching?.judged)
        return own === undefined
          ? dispatch(opts, handler)
          : learningFrom(own, () => dispatch(opts, handler));
      let plan: HopPlan | undefined;
      let list: string[] = [];
      try {
        list = toFlatList(opts.headers);
        plan = planCall(allow, flatAccess(list));
      } catch {
        plan = undefined;
      }
      if (plan !== undefined && own !== undefined) plan = { ...plan, atCreate: true };
      const judged =
        plan === undefined || plan.atCreate === true ? opts : judgeDispatch(plan, opts, true, list);
      // Your callbacks run in your context; undici's own (redirects) also see this call's plan.
      const yours = new AsyncResource('graylane.undici');
      const send = (): boolean => {
        const origin = hookOrigin(true);
        const tagged =
          typeof handler === 'object' && handler !== null
            ? tagHandler(handler, origin, yours)
            : handler;
        const sent = plan?.atCreate === true && own ? announcing(judged, origin, own) : judged;
        const run = (): boolean => dispatchingFrom(origin, () => dispatch(sent, tagged));
        if (own === undefined) return run();
        try {
          return learningFrom(own, run);
        } finally {
          // Its request was created meanwhile (and took the note), queued (the announcer is read
          // when undici creates it), or refused by undici: no other request may take the note.
          forgetNote(origin);
        }
      };
      return plan === undefined ? send() : runNoted(plan, send);
    };
  };
}
