import { AsyncResource } from 'node:async_hooks';
import { currentStore, type GrayStore } from '../context/storage.js';
import type { HopPlan } from './plan.js';
import {
  currentNote,
  outboundState,
  type CreatingNote,
  type OutboundState,
  type OwnOriginCall,
} from './state.js';

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
  // Whichever request undici creates next consumes the note, matched or not (see announcing).
  const note = state.creating;
  state.creating = undefined;
  try {
    const req = request as RequestLike;
    const learning = state.learning;
    if (learning !== undefined && isRequestFor(learning, req)) learnHost(learning, req.origin);
    let handler = handlerOf(request, state);
    for (let depth = 0; depth < MAX_HANDLER_DEPTH; depth++) {
      if (typeof handler !== 'object' || handler === null) break;
      const tagged = (handler as { [ORIGIN]?: Origin })[ORIGIN];
      if (tagged !== undefined) return tagged;
      if (handler instanceof AsyncResource) return fromResource(handler);
      handler = (handler as { handler?: unknown }).handler;
    }
    if (
      note !== undefined &&
      isRequestFor(note.call, req) &&
      note.call.hosts.has(req.origin as string)
    )
      return note.from;
  } catch {
    // A handler or request we cannot read proves nothing.
  }
  return state.dispatching ?? unproven();
}

/** What graylane reads of undici's `Request` to tell whose it is (undici 5–7). */
interface RequestLike {
  readonly origin?: unknown;
  readonly path?: unknown;
  readonly method?: unknown;
}

/**
 * Properties undici's `Request` constructor destructures from the dispatch options (undici 5–7,
 * Node 20–24's bundled copies) and that nothing else in undici reads from them: its clients read
 * them from the `Request`, its interceptors never name them. The first one the caller left unset
 * carries the announcement.
 */
const ANNOUNCERS = ['expectContinue', 'blocking', 'reset', 'idempotent'] as const;

/**
 * How many hosts one composed dispatcher is learned to create requests on: a `Client` or `Pool`
 * has one, a `BalancedPool` one per upstream. Past it, no host is learned (fail closed).
 */
const MAX_LEARNED_HOSTS = 16;

/**
 * @internal A `grayInterceptor` dispatch with no `origin` (a Client's or Pool's own host), as
 * undici will create it. `hosts` is shared by every call through the same downstream dispatch.
 */
export function ownOriginCall(
  opts: { readonly path: string; readonly method?: unknown },
  hosts: Set<string>,
): OwnOriginCall {
  const query = (opts as { query?: unknown }).query;
  return { path: opts.path, method: opts.method, query: Boolean(query), hosts };
}

/**
 * @internal Runs the downstream dispatch of `call` (with or without a lane): a request undici
 * creates synchronously meanwhile with its path and method is this call's, on a host of this
 * dispatcher chain, learned into `call.hosts` for the calls a pool creates later from its queue.
 */
export function learningFrom<T>(call: OwnOriginCall, fn: () => T): T {
  const state = outboundState();
  const previous = state.learning;
  state.learning = call;
  try {
    return fn();
  } finally {
    state.learning = previous;
  }
}

/**
 * @internal Options for `call` that tell graylane's listener when undici creates its request: a
 * pool with a `connections` limit queues them and creates the request later, from another
 * request's context, behind handlers undici 7 keeps private (the tag cannot be found). undici's
 * `Request` constructor reads the options by name, the announcer (one of {@link ANNOUNCERS})
 * too; undici's interceptors copy options with a spread, which neither reads nor carries this
 * non-enumerable getter. Its read notes the call; the request undici publishes next takes the
 * note when it has the call's path and method on one of the call's learned hosts, and any other
 * drops it: judged as a request graylane cannot trace (no marker added, I8). An interceptor that
 * reads the options field by field reads the announcer too: inside the call's dispatch, the note
 * is forgotten when it returns; later (one that dispatches after a delay), a request on a host
 * not learned cannot take it. With every announcer set by the caller, nothing is announced.
 */
export function announcing<O extends object>(opts: O, origin: Origin, call: OwnOriginCall): O {
  const copy = { ...opts };
  const key = ANNOUNCERS.find((k) => (copy as Record<string, unknown>)[k] === undefined);
  if (key === undefined) return copy;
  const note: CreatingNote = { from: origin, call };
  Object.defineProperty(copy, key, {
    configurable: true,
    enumerable: false,
    get() {
      announce(note);
      return undefined;
    },
  });
  return copy;
}

function announce(note: CreatingNote): void {
  const state = outboundState();
  state.creating = note;
  // Backstop: a note nothing took or forgot dies with the job that made it.
  queueMicrotask(() => {
    if (state.creating === note) state.creating = undefined;
  });
}

/**
 * @internal Forgets the note of `origin`'s call if it is still waiting when the call's dispatch
 * returns: read there, the announcer was not read by the request undici created meanwhile (that
 * one took the note) but by undici refusing the options (it threw) or by an interceptor reading
 * them field by field, and no later request may take the note.
 */
export function forgetNote(origin: Origin): void {
  const state = outboundState();
  if (state.creating?.from === origin) state.creating = undefined;
}

/** `request` has the path and method `call` asked for. */
function isRequestFor(call: OwnOriginCall, request: RequestLike): boolean {
  const { path, method } = request;
  if (method !== call.method || typeof path !== 'string') return false;
  // undici appends a `query` option as `?…` (it refuses one beside a `?` in the path).
  return path === call.path || (call.query && path.startsWith(`${call.path}?`));
}

function learnHost(call: OwnOriginCall, host: unknown): void {
  if (typeof host === 'string' && call.hosts.size < MAX_LEARNED_HOSTS) call.hosts.add(host);
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
