import { tagHandler } from './bind.js';
import { delegating, type DispatcherLike, type HopDispatchOptions } from './hop-dispatcher.js';
import { dispatchingFrom, hookOrigin } from './origin.js';
import { outboundState } from './state.js';

/**
 * Where undici keeps the process's global dispatcher: `.1` is read by Node's bundled undici
 * (global `fetch`) and by npm undici's `getGlobalDispatcher()`; undici 7 also writes `.2`.
 * `setGlobalDispatcher` defines them non-configurable but writable, so they can be reassigned.
 */
const SLOTS = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')];

/** Marks graylane's wrapper and leads back to the dispatcher it wraps. */
const WRAPPED = Symbol.for('@graylane/node.globalDispatcher.v1');

type Slotted = Record<symbol, unknown>;
interface Wrapper extends DispatcherLike {
  readonly [WRAPPED]: DispatcherLike;
}

/**
 * @internal Puts graylane's dispatch-time hook in front of the global dispatcher (both slots).
 * The hook records the caller's context on the handler of every global `fetch` and npm undici
 * call without a dispatcher of its own, so the `undici:request:create` listener judges the
 * request in that context even when a connection-limited pool creates it later, from another
 * request's (I7). The marker itself is still added to the request undici creates, never to the
 * dispatch options, so a redirect a dispatcher follows does not copy it to the next hop.
 * Called at install and again whenever undici reports a request, so a dispatcher set later with
 * `setGlobalDispatcher` is wrapped too (from the request after the one that revealed it).
 * Never throws.
 */
export function wrapGlobalDispatcher(): void {
  const g = globalThis as Slotted;
  for (const slot of SLOTS) {
    try {
      const current = g[slot] as Partial<Wrapper> | undefined;
      if (typeof current?.dispatch !== 'function' || current[WRAPPED] !== undefined) continue;
      g[slot] = wrapperOf(current as DispatcherLike);
    } catch {
      // A frozen slot keeps its dispatcher: the listener still covers what it can prove.
    }
  }
}

/** @internal Gives back the wrapped dispatchers still in place; another one set since is kept. */
export function unwrapGlobalDispatcher(): void {
  const g = globalThis as Slotted;
  for (const slot of SLOTS) {
    try {
      const original = (g[slot] as Partial<Wrapper> | undefined)?.[WRAPPED];
      if (original !== undefined) g[slot] = original;
    } catch {
      // I1
    }
  }
}

/** One wrapper per dispatcher, so both slots holding the same agent share it. */
const wrappers = new WeakMap<object, Wrapper>();

function wrapperOf(dispatcher: DispatcherLike): Wrapper {
  let wrapper = wrappers.get(dispatcher);
  if (wrapper !== undefined) return wrapper;
  const dispatch = function graylaneGlobalDispatch(
    options: HopDispatchOptions,
    handler: unknown,
  ): boolean {
    return dispatchFromCaller(dispatcher, options, handler);
  };
  // The shape undici's own `compose()` returns: everything but `dispatch` is the agent's (its
  // methods bound to it, so `#private` fields work: `await getGlobalDispatcher().close()`).
  wrapper = delegating(dispatcher, dispatch, (key) =>
    key === WRAPPED ? dispatcher : undefined,
  ) as unknown as Wrapper;
  wrappers.set(dispatcher, wrapper);
  return wrapper;
}

function dispatchFromCaller(
  dispatcher: DispatcherLike,
  options: HopDispatchOptions,
  handler: unknown,
): boolean {
  const state = outboundState();
  // A graylane hook further out in this same synchronous dispatch already speaks for it.
  if (state.dispatching !== undefined) return dispatcher.dispatch(options, handler);
  const origin = hookOrigin(false);
  // Without a lane there is nothing to carry; coverage still wants to know whose call it was.
  const tag =
    typeof handler === 'object' &&
    handler !== null &&
    (origin.scope !== undefined || state.onCreate.size > 0);
  const tagged = tag ? tagHandler(handler, origin) : handler;
  return dispatchingFrom(origin, () => dispatcher.dispatch(options, tagged));
}
