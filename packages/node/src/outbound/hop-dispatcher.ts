import { tagHandler } from './bind.js';
import { toFlatList, type UndiciHeaders } from './header-list.js';
import { applyHop, flatOps } from './hop-headers.js';
import { dispatchingFrom, hookOrigin } from './origin.js';
import { judgeHop, type HopPlan } from './plan.js';
import { runNoted } from './state.js';
import { undiciTarget } from './targets.js';

/** The options an undici dispatcher receives for one hop (undici 6 and 7). */
export interface HopDispatchOptions {
  readonly origin?: string | URL | undefined;
  readonly path: string;
  readonly method?: string;
  readonly headers?: UndiciHeaders;
}

/** An undici dispatcher, as fetch uses it: only `dispatch` is called. */
export interface DispatcherLike {
  dispatch(options: HopDispatchOptions, handler: unknown): boolean;
}

/** Where undici (bundled and npm, every version since 5) keeps the global dispatcher. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** @internal The process's global undici dispatcher, if undici has been loaded. */
export function globalDispatcher(): DispatcherLike | undefined {
  const d = (globalThis as { [GLOBAL_DISPATCHER]?: DispatcherLike })[GLOBAL_DISPATCHER];
  return typeof d?.dispatch === 'function' ? d : undefined;
}

/**
 * @internal A dispatcher for one fetch call that judges every hop on its own origin: fetch
 * follows redirects itself (method and body rules, header cleanup, limits all stay undici's) and
 * dispatches each hop through here, so a hop to a host that is not allowlisted goes out without
 * the marker and a later allowlisted hop gets it back (RDR-01/02). `base` is the caller's
 * dispatcher, else the global one, looked up per hop. Each hop is dispatched with `plan` noted,
 * so graylane's undici listener also judges what OpenTelemetry's instrumentation adds to it
 * (OTB-01, OUT-01). The first hop was counted when the call was planned. The handler is tagged
 * with the caller's context, so a hop a connection-limited pool creates later is still known
 * as this call's (I7).
 */
export function hopDispatcher(plan: HopPlan, base: DispatcherLike | undefined): DispatcherLike {
  let hops = 0;
  const wrapper: DispatcherLike = {
    dispatch(options, handler) {
      const next = judgeDispatch(plan, options, hops++ > 0);
      const target = base ?? globalDispatcher();
      if (target === undefined) throw new TypeError('[graylane] no undici dispatcher to send with');
      // A note per hop: this hop was judged (and counted) here, the listener only checks it.
      return runNoted({ ...plan }, () => {
        const origin = hookOrigin(true);
        const tagged =
          typeof handler === 'object' && handler !== null ? tagHandler(handler, origin) : handler;
        return dispatchingFrom(origin, () => target.dispatch(next, tagged));
      });
    },
  };
  // Everything but `dispatch` is the dispatcher's: undici's fetch reads `isMockActive` from it
  // (a MockAgent then gets the body it can match), and an app may read or call anything else.
  const shape = base ?? globalDispatcher();
  return shape === undefined ? wrapper : delegating(shape, wrapper.dispatch);
}

/**
 * The `Dispatcher` methods that send through `this.dispatch` (undici's API on its prototype):
 * called on a delegating wrapper, `this` must stay the wrapper so they send through its
 * `dispatch`. Every other method is called on the dispatcher itself, whose `#private` fields a
 * wrapper as `this` could not reach (`RetryAgent#close`, `ProxyAgent#dispatch`).
 */
const THROUGH_DISPATCH = new Set<PropertyKey>([
  'request',
  'stream',
  'pipeline',
  'connect',
  'upgrade',
  'compose',
  // Not a method: `getGlobalDispatcher().constructor === Agent` stays true.
  'constructor',
]);

/**
 * @internal `target` with `dispatch` replaced (the shape undici's own `compose()` returns):
 * properties and getters are read from `target`; its methods are bound to it, once each, except
 * those that send through `this.dispatch`. Never throws on a read that `target` would not.
 */
export function delegating<T extends object>(
  target: T,
  dispatch: DispatcherLike['dispatch'],
  extra?: (key: PropertyKey) => unknown,
): T & DispatcherLike {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, key) {
      if (key === 'dispatch') return dispatch;
      const special = extra?.(key);
      if (special !== undefined) return special;
      const value: unknown = Reflect.get(t, key, t);
      if (typeof value !== 'function' || THROUGH_DISPATCH.has(key)) return value;
      let fn = bound.get(key);
      if (fn === undefined || (fn as { original?: unknown }).original !== value) {
        const b = (value as (...args: unknown[]) => unknown).bind(t);
        Object.defineProperty(b, 'original', { value });
        bound.set(key, (fn = b));
      }
      return fn;
    },
  }) as T & DispatcherLike;
}

/** @internal A copy of `options` with the marker set or removed for its own target. Never throws. */
export function judgeDispatch<O extends HopDispatchOptions>(
  plan: HopPlan,
  options: O,
  count = true,
  list: string[] = toFlatList(options.headers),
): O {
  try {
    applyHop(
      plan,
      judgeHop(plan, undiciTarget(options.origin, options.path, options.method), count),
      flatOps(list),
    );
    return { ...options, headers: list };
  } catch {
    return options;
  }
}
