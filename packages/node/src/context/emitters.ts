import { IncomingMessage, ServerResponse } from 'node:http';
import { storage, type GrayStore } from './storage.js';

interface EmitterLike {
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount?(event: string | symbol): number;
}

type Emit = EmitterLike['emit'];

/**
 * What graylane keeps for one request (the decision, inbound/once.ts, and the store its events
 * run in), found from the Node request object (`IncomingMessage`); the response finds it through
 * `res.req`. See {@link setRequestEntry} for where it is kept.
 */
export interface RequestEntry {
  readonly store: GrayStore;
}

interface EmitterState {
  /** Request object → its entry, for requests that cannot take the slot. */
  readonly requests: WeakMap<object, RequestEntry>;
  /** Emitters that are neither the request nor its `res.req` response (rare): their store. */
  readonly others: WeakMap<object, GrayStore>;
}

const STATE = Symbol.for('@graylane/node.requests.v3');
/** The request's own slot for its entry (process-wide name: ESM and CJS copies share it). */
const SLOT = Symbol.for('@graylane/node.request.v3');
/** Marks graylane's prototype wrapper, so a second copy of the package does not wrap it again. */
const WRAPPER = Symbol.for('@graylane/node.emitWrapper.v3');
/** Marks an emitter whose own `emit` graylane wrapped (the fallback path), once per object. */
const BOUND = Symbol.for('@graylane/node.boundEmitter.v3');

function state(): EmitterState {
  const g = globalThis as { [STATE]?: EmitterState };
  return (g[STATE] ??= { requests: new WeakMap(), others: new WeakMap() });
}

/**
 * @internal Keeps `entry` for the request `req`. Measured per request (issue 20, Node 20/24): a
 * symbol slot on a plain `IncomingMessage` costs nothing measurable, a `WeakMap` entry 0.2–0.8 µs
 * plus ephemeron work in every GC; but on an object whose prototype was swapped (express swaps
 * every request's) a new property costs ~4 µs on Node 20/22, where the `WeakMap` costs ~1 µs. So:
 * the slot on a request whose prototype is still Node's own, the `WeakMap` for any other object.
 */
export function setRequestEntry(req: object, entry: RequestEntry): void {
  if (Object.getPrototypeOf(req) === IncomingMessage.prototype) {
    try {
      (req as { [SLOT]?: RequestEntry })[SLOT] = entry;
      return;
    } catch {
      // A frozen request: the map below.
    }
  }
  state().requests.set(req, entry);
}

/** @internal The entry {@link setRequestEntry} kept for `req`, or undefined. */
export function getRequestEntry<E extends RequestEntry>(req: object): E | undefined {
  // The slot first, whatever the prototype is now: a request decided on plain node:http and then
  // handed to express (`gray.handle(req, res, () => app(req, res))`) had its prototype swapped
  // after the slot was set.
  const own = (req as { [SLOT]?: E })[SLOT];
  return own !== undefined ? own : (state().requests.get(req) as E | undefined);
}

/**
 * Makes every event of this request's `req`/`res` run inside the request's context, so
 * `req.on('data' | 'end')` listeners — body parsers, `raw-body`, `on-finished` — see the marker
 * (RELIABILITY CTX-05, express-http-context#4). Node emits those events from the socket's async
 * context, which belongs to no request.
 *
 * The caller has already kept `entry` for `req` ({@link setRequestEntry}); the response finds it
 * through `res.req`, so nothing is added to the response. `emit` is wrapped once per process on
 * `IncomingMessage.prototype` / `ServerResponse.prototype`; the wrapper enters the context only
 * for an event that a listener other than Node's own listens to, on an object graylane bound,
 * when that context is not already current; anything else is a `WeakMap` lookup. An emitter that
 * is not a Node request/response, or whose `emit` someone already overrode below the Node
 * prototype, gets its own `emit` wrapped instead (and its own map entry).
 */
export function bindRequestEmitters(
  entry: RequestEntry,
  req: EmitterLike,
  res?: EmitterLike | undefined,
): void {
  bindOne(entry, req, req);
  if (res !== undefined) bindOne(entry, req, res);
}

function bindOne(entry: RequestEntry, req: EmitterLike, target: EmitterLike): void {
  try {
    if (typeof target.emit !== 'function') return;
    const byPrototype = wrappedByPrototype(target);
    const found = target === req || (target as { req?: unknown }).req === req;
    if (byPrototype && found) return;
    // Not reachable through the request's entry: keep this emitter's own (a later, stricter
    // decision, GW-03, replaces it).
    if (!found) state().others.set(target, entry.store);
    if (!byPrototype) wrapOwnEmit(target);
  } catch {
    // A frozen or exotic emitter keeps its native behaviour (I1).
  }
}

/** What a wrapper is installed on: which lookup finds an emitter's store first. */
type Kind = 'request' | 'response' | 'own';

/** The store `emitter`'s events run in, or undefined. */
function storeOf(emitter: EmitterLike, kind: Kind): GrayStore | undefined {
  if (kind !== 'response') {
    const own = getRequestEntry(emitter);
    if (own !== undefined || kind === 'request') return own?.store;
  }
  const req = (emitter as { req?: unknown }).req;
  if (typeof req === 'object' && req !== null) {
    const viaReq = getRequestEntry(req);
    if (viaReq !== undefined) return viaReq.store;
  }
  return state().others.get(emitter);
}

/** True when `target.emit` resolves to graylane's prototype wrapper (installing it if needed). */
function wrappedByPrototype(target: EmitterLike): boolean {
  const emit = target.emit as Emit & { [WRAPPER]?: true };
  if (emit[WRAPPER]) return true;
  const base =
    target instanceof IncomingMessage
      ? IncomingMessage.prototype
      : target instanceof ServerResponse
        ? ServerResponse.prototype
        : undefined;
  if (base === undefined) return false;
  // Only when nothing between the object and the Node prototype overrides `emit`.
  if (emit !== (base as unknown as EmitterLike).emit) return false;
  installPrototypeWrapper(base as unknown as EmitterLike);
  return (target.emit as Emit & { [WRAPPER]?: true })[WRAPPER] === true;
}

function installPrototypeWrapper(proto: EmitterLike): void {
  if ((proto.emit as Emit & { [WRAPPER]?: true })[WRAPPER]) return;
  const own = Object.getOwnPropertyDescriptor(proto, 'emit');
  const parent = Object.getPrototypeOf(proto) as EmitterLike;
  // The Node prototypes inherit `emit`; read it from the parent per call so an APM that patches
  // EventEmitter.prototype.emit later is still called.
  const original = (): Emit => (own && typeof own.value === 'function' ? own.value : parent.emit);
  const wrapper = contextEmit(
    original,
    proto === ServerResponse.prototype ? 'response' : 'request',
  );
  Object.defineProperty(wrapper, WRAPPER, { value: true });
  Object.defineProperty(proto, 'emit', {
    value: wrapper,
    writable: true,
    configurable: true,
    enumerable: own?.enumerable ?? false,
  });
}

/**
 * An `emit` that runs the event inside the emitter's bound store when a listener needs it. It
 * runs for every event of every request and response (and of every other Node request, such as
 * an http client's response), so the cheapest test goes first: most events have no listener.
 */
function contextEmit(original: () => Emit, kind: Kind): Emit {
  const als = storage();
  return function graylaneEmit(this: EmitterLike): boolean {
    // `arguments`, not rest args: no array is built for an event that needs no context.
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as unknown[];
    if (needsContext(this, args[0])) {
      const store = storeOf(this, kind);
      if (store !== undefined && als.getStore() !== store)
        return als.run(store, () => Reflect.apply(original(), this, args) as boolean);
    }
    return Reflect.apply(original(), this, args) as boolean;
  };
}

/**
 * False when nobody listens to `event`, or when its only listener is one of Node's own: the
 * context is entered only around listeners that user code (body parsers, loggers) added.
 * Node's HTTP server puts `req.on('end', clearIncoming)` (Node 20/22) and
 * `res.on('finish', resOnFinish)` on every request before any middleware runs; they never read a
 * request context, and entering one for them is an extra `AsyncLocalStorage.run` per request
 * (koa's response finishes after its context is gone; on Node 24 each `run` costs ~8× Node 20).
 */
function needsContext(emitter: EmitterLike, event: unknown): boolean {
  const events = (emitter as { _events?: Record<string | symbol, unknown> })._events;
  if (typeof events !== 'object' || events === null)
    return emitter.listenerCount?.(event as string) !== 0;
  const listeners = events[event as string];
  if (listeners === undefined) return false;
  if (typeof listeners !== 'function') return true;
  // Bound functions are named `bound resOnFinish` (Node binds the response's finish listener).
  const name = listeners.name;
  return name !== 'clearIncoming' && name !== 'resOnFinish' && name !== 'bound resOnFinish';
}

/** The fallback: this object's own `emit`, wrapped once; it reads the store from the map too. */
function wrapOwnEmit(target: EmitterLike): void {
  const marked = target as { [BOUND]?: true };
  if (marked[BOUND]) return;
  const emit = target.emit;
  target.emit = contextEmit(() => emit, 'own');
  marked[BOUND] = true;
}
