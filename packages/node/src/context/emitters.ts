import { IncomingMessage, ServerResponse } from 'node:http';
import { storage, type GrayStore } from './storage.js';

interface EmitterLike {
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount?(event: string | symbol): number;
}

type Emit = EmitterLike['emit'];

/** Process-wide (ESM and CJS copies share it): each bound emitter's store, per object. */
interface EmitterState {
  readonly stores: WeakMap<object, GrayStore>;
}

const STATE = Symbol.for('@graylane/node.emitters.v2');
/** Marks graylane's prototype wrapper, so a second copy of the package does not wrap it again. */
const WRAPPER = Symbol.for('@graylane/node.emitWrapper');
/** Marks an emitter whose own `emit` graylane wrapped (the fallback path), once per object. */
const BOUND = Symbol.for('@graylane/node.boundEmitter');

function state(): EmitterState {
  const g = globalThis as { [STATE]?: EmitterState };
  return (g[STATE] ??= { stores: new WeakMap() });
}

/**
 * Makes every event of this request's `req`/`res` run inside the request's context, so
 * `req.on('data' | 'end')` listeners — body parsers, `raw-body`, `on-finished` — see the marker
 * (RELIABILITY CTX-05, express-http-context#4). Node emits those events from the socket's async
 * context, which belongs to no request.
 *
 * Nothing is added to the request objects: the store is kept in a process-wide `WeakMap`, and
 * `emit` is wrapped once per process on `IncomingMessage.prototype` / `ServerResponse.prototype`
 * (express swaps each request's prototype, and on Node 20/22 every property added to such an
 * object costs ~1.5 µs, issue 20). The wrapper enters the context only for an event that a
 * listener other than Node's own listens to, on an object graylane bound, when that context is
 * not already current; anything else is one `WeakMap` lookup. An emitter that is not a Node request/response, or whose `emit`
 * someone already overrode below the Node prototype, gets its own `emit` wrapped instead.
 */
export function bindRequestEmitters(
  store: GrayStore,
  ...emitters: (EmitterLike | undefined)[]
): void {
  const { stores } = state();
  for (const target of emitters) {
    if (!target) continue;
    try {
      if (typeof target.emit !== 'function') continue;
      // A later, stricter decision (GW-03) replaces the store its events run in.
      stores.set(target, store);
      if (!wrappedByPrototype(target)) wrapOwnEmit(target);
    } catch {
      // A frozen or exotic emitter keeps its native behaviour (I1).
    }
  }
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
  const wrapper = contextEmit(original);
  Object.defineProperty(wrapper, WRAPPER, { value: true });
  Object.defineProperty(proto, 'emit', {
    value: wrapper,
    writable: true,
    configurable: true,
    enumerable: own?.enumerable ?? false,
  });
}

/** An `emit` that runs the event inside the emitter's bound store when a listener needs it. */
function contextEmit(original: () => Emit): Emit {
  const { stores } = state();
  const als = storage();
  return function graylaneEmit(this: EmitterLike): boolean {
    // `arguments`, not rest args: this runs for every event of every request.
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as unknown[];
    const store = stores.get(this);
    if (store === undefined || als.getStore() === store || !needsContext(this, args[0])) {
      return Reflect.apply(original(), this, args) as boolean;
    }
    return als.run(store, () => Reflect.apply(original(), this, args) as boolean);
  };
}

/**
 * Listeners Node's own HTTP server puts on every request/response before any middleware runs
 * (`req.on('end', clearIncoming)` on Node 20/22, `res.on('finish', resOnFinish)`). They never read
 * a request context, and entering one for them is an extra `AsyncLocalStorage.run` per request
 * (koa's response finishes after its context is gone; on Node 24 each `run` costs ~8× Node 20).
 */
const NODE_OWN_LISTENERS: ReadonlySet<string> = new Set(['clearIncoming', 'resOnFinish']);

/**
 * False when nobody listens to `event`, or when its only listener is one of Node's own: the
 * context is entered only around listeners that user code (body parsers, loggers) added.
 */
function needsContext(emitter: EmitterLike, event: unknown): boolean {
  const events = (emitter as { _events?: Record<string | symbol, unknown> })._events;
  if (typeof events !== 'object' || events === null)
    return emitter.listenerCount?.(event as string) !== 0;
  const listeners = events[event as string];
  if (listeners === undefined) return false;
  // Bound functions are named `bound resOnFinish` (Node binds the response's finish listener).
  return !(
    typeof listeners === 'function' && NODE_OWN_LISTENERS.has(listeners.name.replace(/^bound /, ''))
  );
}

/** The fallback: this object's own `emit`, wrapped once; it reads the store from the map too. */
function wrapOwnEmit(target: EmitterLike): void {
  const marked = target as { [BOUND]?: true };
  if (marked[BOUND]) return;
  const emit = target.emit;
  target.emit = contextEmit(() => emit);
  marked[BOUND] = true;
}
