import { AsyncResource } from 'node:async_hooks';
import { currentStore, type GrayStore } from '../context/storage.js';
import type { HopPlan } from './plan.js';
import { currentNote, outboundState, type OutboundState } from './state.js';

/**
 * Where an undici request comes from: the async context of the code that made the call.
 *
 * undici publishes `undici:request:create` when it *creates* a request, which is not always when
 * the caller dispatched it: a pool with a `connections` limit queues the call and creates it
 * later, from whichever request freed a connection — in that request's async context (I7). So
 * the context current at creation is trusted only when graylane can prove it is the caller's:
 * - `hook`: a graylane hook (the global dispatcher `installGlobal` wraps, `grayInterceptor`,
 *   `withGray`'s per-call dispatcher) saw the dispatch in the caller's context and tagged the
 *   handler, or undici created the request synchronously inside that dispatch;
 * - `handler`: undici's own API handler (`request`, `stream`, `pipeline`, `upgrade`, `connect`)
 *   is an `AsyncResource` made in the caller's context; graylane reads the context there.
 * Otherwise (`none`) the context at creation may belong to another request: graylane never adds
 * a marker from it, and only removes one where the target is not allowlisted (fail-safe).
 */
export interface Origin {
  readonly proof: 'hook' | 'handler' | 'none';
  /** The caller's store (`none`: whatever was current at creation). */
  readonly store: GrayStore | undefined;
  /** The caller's wrapper-level plan, if any (`none`: whatever was current at creation). */
  readonly note: HopPlan | undefined;
  /** Runs code in the caller's async context; undefined when the caller had no graylane context. */
  readonly scope: ScopeLike | undefined;
  /** A graylane hook already judged this hop when it was dispatched. */
  readonly judged: boolean;
}

/** What graylane uses of an `AsyncResource`: running a function in its captured context. */
export type ScopeLike = Pick<AsyncResource, 'runInAsyncScope'>;

/** The property of a graylane-tagged undici handler that holds its {@link Origin}. */
export const ORIGIN = Symbol.for('@graylane/node.origin.v1');

/**
 * undici wraps handlers (redirect, retry, decorators); the public `.handler` links of those
 * wrappers are followed this far. undici 7's `WrapHandler`/`UnwrapHandler` keep theirs private.
 */
const MAX_HANDLER_DEPTH = 8;

const RESOURCE_TYPE = 'graylane.undici';

/**
 * @internal The origin of a dispatch a graylane hook is making now, in the caller's context.
 * With nothing to carry (no lane, no wrapper call) no async resource is made.
 */
export function hookOrigin(judged: boolean): Origin {
  const store = currentStore();
  const note = currentNote();
  const scope =
    store === undefined && note === undefined ? undefined : new AsyncResource(RESOURCE_TYPE);
  return { proof: 'hook', store, note, scope, judged };
}

/**
 * @internal Runs a hook's downstream dispatch with `origin` visible to the undici listener for
 * its synchronous extent only: a request created meanwhile is this call's, a request created
 * later (queued) is not seen through this.
 */
export function dispatchingFrom<T>(origin: Origin, fn: () => T): T {
  const state = outboundState();
  const previous = state.dispatching;
  state.dispatching = origin;
  try {
    return fn();
  } finally {
    state.dispatching = previous;
  }
}

/** @internal The origin of an undici request, decided once per request. Never throws. */
export function requestOrigin(request: object): Origin {
  const state = outboundState();
  let origin = state.origins.get(request);
  if (origin === undefined) {
    origin = findOrigin(request, state);
    state.origins.set(request, origin);
  }
  return origin;
}

function findOrigin(request: object, state: OutboundState): Origin {
  try {
    let handler = handlerOf(request, state);
    for (let depth = 0; depth < MAX_HANDLER_DEPTH; depth++) {
      if (typeof handler !== 'object' || handler === null) break;
      const tagged = (handler as { [ORIGIN]?: Origin })[ORIGIN];
      if (tagged !== undefined) return tagged;
      if (handler instanceof AsyncResource) return fromResource(handler);
      handler = (handler as { handler?: unknown }).handler;
    }
  } catch {
    // A handler we cannot read proves nothing.
  }
  const creating = state.creating;
  if (creating !== undefined && creating.path === (request as { path?: unknown }).path) {
    state.creating = undefined;
    return creating.origin;
  }
  return state.dispatching ?? unproven();
}

/**
 * @internal Options for a dispatch whose host is the dispatcher's own (no `origin`): a pool with
 * a `connections` limit queues them and creates the request later, from another request's
 * context, behind handlers undici 7 keeps private (origin.ts cannot find the tag). undici reads
 * the options' `headers` when it creates the request (`new Request(origin, opts, handler)`),
 * so reading them tells the listener whose request is being created. The getter answers what
 * the options held; the note lasts until that request is created (synchronously, matched by
 * path) or the current job ends.
 */
export function announcingHeaders<O extends { readonly path: string; readonly headers?: unknown }>(
  opts: O,
  origin: Origin,
): O {
  const copy = { ...opts };
  const headers = opts.headers;
  Object.defineProperty(copy, 'headers', {
    configurable: true,
    enumerable: true,
    get() {
      const state = outboundState();
      const note = { origin, path: opts.path };
      state.creating = note;
      queueMicrotask(() => {
        if (state.creating === note) state.creating = undefined;
      });
      return headers;
    },
  });
  return copy;
}

function fromResource(resource: AsyncResource): Origin {
  const [store, note] = resource.runInAsyncScope(readContext);
  return { proof: 'handler', store, note, scope: resource, judged: false };
}

function readContext(): [GrayStore | undefined, HopPlan | undefined] {
  return [currentStore(), currentNote()];
}

function unproven(): Origin {
  return {
    proof: 'none',
    store: currentStore(),
    note: currentNote(),
    scope: undefined,
    judged: false,
  };
}

/**
 * undici keeps a request's handler under a module-private `Symbol('handler')` (undici 5–7, the
 * bundled copy and npm's each their own); found once per `Request` class by its description.
 */
function handlerOf(request: object, state: OutboundState): unknown {
  const proto = Object.getPrototypeOf(request) as object | null;
  if (proto === null) return undefined;
  let key = state.handlerKeys.get(proto);
  if (key === undefined) {
    key = Object.getOwnPropertySymbols(request).find((s) => s.description === 'handler') ?? null;
    state.handlerKeys.set(proto, key);
  }
  return key === null ? undefined : (request as Record<symbol, unknown>)[key];
}
