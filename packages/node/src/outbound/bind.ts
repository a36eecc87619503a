import type { AsyncLocalStorage } from 'node:async_hooks';
import { currentStore, storage, type GrayStore } from '../context/storage.js';
import { ORIGIN, type Origin, type ScopeLike } from './origin.js';
import { currentNote, withoutNote } from './state.js';

/**
 * The callbacks undici's Client calls on its internal `Request` (undici 6 and 7, HTTP/1.1 and
 * HTTP/2). They run wherever the socket's events run: on a kept-alive socket, that is the async
 * context of whichever request opened it (CTX-12, and a redirect re-dispatched from one of them
 * would inherit that request's marker).
 */
const REQUEST_CALLBACKS = [
  'onConnect',
  'onResponseStarted',
  'onHeaders',
  'onData',
  'onUpgrade',
  'onComplete',
  'onError',
  'onBodySent',
  'onRequestSent',
] as const;

/**
 * @internal Makes the callbacks of one undici `Request` run in the context of its origin (the
 * caller's, CTX-12), not the context of whichever request opened the kept-alive socket. Where
 * the caller had no lane, or cannot be proven (origin.ts), they run where undici runs them but
 * without graylane's lane, so they never see — nor pass on, through a redirect or a retry
 * dispatched from them — another request's version (I7). An unproven request keeps the
 * wrapper-level plan current at its creation: a plan only ever removes a marker. Own properties
 * shadow the prototype methods; nothing else about the request changes. Never throws.
 */
export function bindRequestCallbacks(request: object, origin: Origin): void {
  try {
    const run = runnerFor(origin);
    if (run === undefined) return;
    const target = request as Record<string, unknown>;
    for (const name of REQUEST_CALLBACKS) {
      const fn = target[name];
      if (typeof fn !== 'function') continue;
      target[name] = function graylaneBoundCallback(this: unknown, ...args: unknown[]) {
        return run(fn as (...a: unknown[]) => unknown, this, args);
      };
    }
  } catch {
    // I1: the request keeps undici's own behaviour.
  }
}

type Runner = (fn: (...a: unknown[]) => unknown, self: unknown, args: unknown[]) => unknown;

function runnerFor(origin: Origin): Runner | undefined {
  const scope = origin.scope;
  if (scope !== undefined) return (fn, self, args) => scope.runInAsyncScope(fn, self, ...args);
  const keepNote = origin.proof === 'none';
  if (currentStore() === undefined && (keepNote || currentNote() === undefined)) return undefined;
  return keepNote
    ? (fn, self, args) => withoutLane(() => fn.apply(self, args))
    : (fn, self, args) => withoutLane(() => withoutNote(() => fn.apply(self, args)));
}

/**
 * Runs `fn` with no graylane lane, in a way the caller's scope can be restored from inside.
 * Not `AsyncLocalStorage#exit`: on Node 20 and 22 `exit` disables the storage for its whole
 * synchronous extent, so a tagged handler called from there (a queued request's, see
 * {@link tagHandler}) re-entering the caller's scope with `runInAsyncScope` still read no lane,
 * nor did the body stream events it emits. `run(undefined)` nests on every Node version.
 */
function withoutLane<T>(fn: () => T): T {
  return (storage() as AsyncLocalStorage<GrayStore | undefined>).run(undefined, fn);
}

/**
 * @internal A view of an undici dispatch handler (legacy or new API, any wrapper) that carries
 * `origin` (read by the `undici:request:create` listener, see origin.ts) and whose methods run in
 * the origin's async context, wherever the dispatcher calls them from — also when a
 * connection-limited pool creates the request later, from another request's context.
 * `scope` defaults to the origin's; `grayInterceptor` passes one taken outside its own
 * wrapper-level plan, so your callbacks never see that plan.
 */
export function tagHandler<H extends object>(
  handler: H,
  origin: Origin,
  scope: ScopeLike | undefined = origin.scope,
): H {
  const bound = new Map<PropertyKey, { fn: unknown; wrapped: unknown }>();
  return new Proxy(handler, {
    get(target, key) {
      if (key === ORIGIN) return origin;
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      const cached = bound.get(key);
      if (cached?.fn === value) return cached.wrapped;
      // `this` is the handler itself, never the proxy: handlers may use private fields.
      const wrapped =
        scope === undefined
          ? function graylaneHandler(...args: unknown[]) {
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            }
          : function graylaneBoundHandler(...args: unknown[]) {
              return scope.runInAsyncScope(value as (...a: unknown[]) => unknown, target, ...args);
            };
      bound.set(key, { fn: value, wrapped });
      return wrapped;
    },
  });
}
