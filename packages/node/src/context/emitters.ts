import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { getOtelBridge } from '../otel/index.js';
import { storage, type GrayStore } from './storage.js';

interface EmitterLike {
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount?(event: string | symbol): number;
}

type Emit = EmitterLike['emit'];
type Listener = ((...args: unknown[]) => unknown) & { listener?: unknown };
type AddListener = (this: unknown, type: string | symbol, listener: Listener) => unknown;

/**
 * What graylane keeps for one request (the decision, inbound/once.ts, and the store its events
 * run in), found from the Node request object (`IncomingMessage`). See {@link setRequestEntry}.
 */
export interface RequestEntry {
  readonly store: GrayStore;
}

interface EmitterState {
  /** Request object → its entry, for requests that cannot take the slot. */
  readonly requests: WeakMap<object, RequestEntry>;
  /** Emitters that are not Node requests/responses (their own `emit` is wrapped): their store. */
  readonly others: WeakMap<object, GrayStore>;
  /** Prototypes below Node's whose listener methods still resolve to graylane's (express's). */
  readonly prototypes: WeakMap<object, boolean>;
  /**
   * The emitter whose listener method graylane's own-property wrapper is calling through right
   * now (see {@link coverOwnMethods}): the listener it passes down is bound already, so the
   * prototype wrappers below leave it alone. Shared, as the wrappers of every copy read it.
   */
  passing?: object | undefined;
}

const STATE = Symbol.for('@graylane/node.requests.v4');
/** The request's own slot for its entry (process-wide name: ESM and CJS copies share it). */
const SLOT = Symbol.for('@graylane/node.request.v3');
/** Marks graylane's prototype wrappers, so a second copy of the package does not wrap again. */
const WRAPPER = Symbol.for('@graylane/node.listenerWrapper.v4');
/** Marks an emitter whose own `emit` graylane wrapped (the fallback path), once per object. */
const BOUND = Symbol.for('@graylane/node.boundEmitter.v3');
/** Marks graylane's own-property listener methods on one request or response. */
const OWN = Symbol.for('@graylane/node.ownListenerMethods.v1');

/** This copy's reference to the shared state (read per listener added). */
let shared: EmitterState | undefined;

function state(): EmitterState {
  if (shared !== undefined) return shared;
  const g = globalThis as { [STATE]?: EmitterState };
  g[STATE] ??= { requests: new WeakMap(), others: new WeakMap(), prototypes: new WeakMap() };
  return (shared = g[STATE]);
}

/**
 * A new property on an object whose prototype was swapped (express swaps every request's and
 * response's) gives that object a map of its own on V8 before 13 (Node 20/22): the property
 * costs ~3 µs, and every later property access on the object misses V8's caches. From V8 13
 * (Node 24) the transition is shared and costs nothing measurable.
 */
const SLOT_ON_ANY = Number(String(process.versions?.v8 ?? '0').split('.')[0]) >= 13;

/**
 * @internal Keeps `entry` for the request `req`, in a symbol slot where that is free (a request
 * whose prototype is still Node's own, or any request from V8 13 on), else in a `WeakMap`
 * (0.8–2 µs per request, measured in issue 20). `optional`: the caller binds the request's
 * context, in which a later layer finds the entry through the store (`GrayStore.entry`); then
 * the costly `WeakMap` is skipped.
 */
export function setRequestEntry(req: object, entry: RequestEntry, optional = false): void {
  if (SLOT_ON_ANY || Object.getPrototypeOf(req) === IncomingMessage.prototype) {
    try {
      (req as { [SLOT]?: RequestEntry })[SLOT] = entry;
      return;
    } catch {
      // A frozen request: the map below.
    }
  }
  if (!optional) state().requests.set(req, entry);
}

/** @internal The entry {@link setRequestEntry} kept for `req`, or undefined. */
export function getRequestEntry<E extends RequestEntry>(req: object): E | undefined {
  const slot = req as { [SLOT]?: E };
  if (Object.getPrototypeOf(req) === IncomingMessage.prototype) {
    const own = slot[SLOT];
    if (own !== undefined) return own;
  } else if (hasOwn.call(req, SLOT)) {
    // The slot is only ever an own property, and it may be there whatever the prototype is now:
    // a request decided on plain node:http and then handed to express (`gray.handle(req, res,
    // () => app(req, res))`) had its prototype swapped after the slot was set. Asked as an own
    // property: on a swapped request a miss would search its whole prototype chain.
    const own = slot[SLOT];
    if (own !== undefined) return own;
  }
  return state().requests.get(req) as E | undefined;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Makes the listeners of this request's `req`/`res` run inside the request's context, so
 * `req.on('data' | 'end')` listeners — body parsers, `raw-body`, `on-finished` — see the marker
 * (RELIABILITY CTX-05, express-http-context#4). Node emits those events from the socket's async
 * context, which belongs to no request.
 *
 * Bound when added, not when emitted (issue 20): `on`, `addListener`, `prependListener`, `once`
 * and `prependOnceListener` are wrapped once per process on `IncomingMessage.prototype` and
 * `ServerResponse.prototype`. A listener added to the request or response of the context that
 * is current (`GrayStore.request` / `.response`) is wrapped in one that enters that context;
 * `emit` itself stays Node's, so an event costs nothing more, and nothing is kept on the
 * objects. Listeners already on them when the request is decided (added by earlier middleware)
 * are wrapped in place now. Every wrapper carries the original as `.listener`, the shape of
 * Node's own `once` wrappers, so `removeListener(type, fn)`, `listeners()` and `'newListener'`
 * see the app's function. A stricter decision on the same request (GW-03) becomes the store's
 * `successor`, which listeners bound earlier follow. A listener also enters the OTel context the
 * request's handler runs in, when the OTel bridge kept one (`GrayStore.otelContext`); and where
 * an instrumentation put listener methods of its own on the object (OpenTelemetry's
 * `context.bind`), graylane's go over them, so its wrapper is the innermost
 * ({@link coverRequestEmitters}).
 *
 * An emitter that is not a Node request/response (a test double, light-my-request's request)
 * gets its own `emit` wrapped instead, which enters the context at emit time.
 */
export function bindRequestEmitters(
  entry: RequestEntry,
  req: EmitterLike,
  res?: EmitterLike | undefined,
): void {
  const store = entry.store;
  store.request = req;
  store.response = res;
  bindOne(store, req);
  if (res !== undefined) bindOne(store, res);
}

function bindOne(store: GrayStore, target: EmitterLike): void {
  try {
    if (nodeEmitter(target)) {
      bindExisting(store, target);
      return;
    }
    if (typeof target.emit !== 'function') return;
    state().others.set(target, store);
    wrapOwnEmit(target);
  } catch {
    // A frozen or exotic emitter keeps its native behaviour (I1).
  }
}

/** This copy installed the wrappers on both Node prototypes (read per request). */
let installed = false;

/**
 * @internal Installs graylane's listener wrappers on `IncomingMessage.prototype` and
 * `ServerResponse.prototype`, once per process (a second copy of the package finds them). Called
 * when graylane is created (every adapter's engine: `createEngine`), not on the first request: a
 * library that binds a request's emitters to a context of its own (cls-hooked's `bindEmitter`,
 * an OTel context manager it keeps to itself, dd-trace's scope) puts own-property listener
 * methods on the request that call the ones it found there, on the `request` event before any
 * middleware. Installed only on the first request, the wrappers came too late for that request:
 * its methods called Node's own, and a listener the app added saw no lane (CTX-05). Nothing is
 * installed on import.
 */
export function installRequestListenerWrappers(): void {
  if (installed) return;
  try {
    installListenerWrappers(IncomingMessage.prototype);
    installListenerWrappers(ServerResponse.prototype);
  } catch {
    // Frozen prototypes: listeners keep Node's behaviour (I1).
  }
  installed = true;
}

/**
 * True when `target` is a Node request/response whose listener methods resolve to graylane's
 * (installing them on first use). Decided per prototype: a plain request costs a prototype
 * read, an express request one `WeakMap` lookup of its (shared) prototype.
 */
function nodeEmitter(target: object): boolean {
  if (!installed) installRequestListenerWrappers();
  const proto = Object.getPrototypeOf(target) as object | null;
  if (proto === IncomingMessage.prototype || proto === ServerResponse.prototype) return true;
  if (proto === null) return false;
  const known = state().prototypes.get(proto);
  if (known !== undefined) return known;
  const base =
    target instanceof IncomingMessage
      ? IncomingMessage.prototype
      : target instanceof ServerResponse
        ? ServerResponse.prototype
        : undefined;
  // Only when nothing between the object and the Node prototype overrides a listener method.
  const ok =
    base !== undefined &&
    METHODS.every(
      (name) =>
        (proto as Record<string, unknown>)[name] ===
        (base as unknown as Record<string, unknown>)[name],
    );
  state().prototypes.set(proto, ok);
  return ok;
}

const METHODS = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'] as const;
type Method = (typeof METHODS)[number];

function installListenerWrappers(proto: object): void {
  const p = proto as Record<Method, AddListener & { [WRAPPER]?: true }>;
  if (p.on[WRAPPER]) return;
  const parent = Object.getPrototypeOf(proto) as Record<Method, AddListener>;
  // Node's prototypes inherit these methods; an inherited one is read from the parent per call,
  // so an APM that patches EventEmitter.prototype later is still called.
  const own = new Map<Method, AddListener>();
  for (const name of METHODS) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (d && typeof d.value === 'function') own.set(name, d.value as AddListener);
  }
  const original = (key: Method): AddListener => own.get(key) ?? parent[key];
  for (const name of METHODS) {
    const wrapper =
      name === 'once' || name === 'prependOnceListener'
        ? onceWrapper(original, name === 'once' ? 'on' : 'prependListener', name)
        : addWrapper(original, name);
    Object.defineProperty(wrapper, WRAPPER, { value: true });
    Object.defineProperty(proto, name, {
      value: wrapper,
      writable: true,
      configurable: true,
      enumerable: Object.getOwnPropertyDescriptor(proto, name)?.enumerable ?? false,
    });
  }
}

/** Per event: the app's function → graylane's wrappers of it (own methods), the latest last. */
type Added = Map<string | symbol, WeakMap<Listener, Listener[]>>;

/**
 * @internal An instrumentation that binds a request's emitters to a context of its own —
 * OpenTelemetry's http instrumentation calls `context.bind(ctx, req)` and `(ctx, res)` on the
 * `request` event, before any middleware — puts its listener methods on the object itself, over
 * graylane's prototype wrappers. Its wrapper then ended up inside graylane's, entered the context
 * it extracted from the client last, and that won: a listener's outbound call carried the
 * client's `gray` baggage member in `edge`, `signed` and `markers.baggage: false` (OTB-02), and
 * on a process's first request (its methods captured Node's own, graylane's were not installed
 * yet) a listener saw no lane at all. graylane's own-property methods go over those, so its
 * wrapper is the innermost, the closest to the app's listener. Each one it adds is kept (per
 * event: the app's function → graylane's wrapper), so `removeListener(type, fn)` and `off` reach
 * it through the instrumentation's own map.
 *
 * Called by the OTel bridge before the handler runs, only when an OTel context manager is
 * registered: only OpenTelemetry's baggage is at stake (another APM's context of its own does
 * not change graylane's), and a request without OTel pays nothing for it (issue 20: the cheapest
 * check, one load of `req.on`, cost ~300 instructions per request on Node 20).
 */
export function coverRequestEmitters(store: GrayStore): void {
  try {
    const { request, response } = store;
    if (request !== undefined && nodeEmitter(request)) coverOwnMethods(request);
    if (response !== undefined && nodeEmitter(response)) coverOwnMethods(response);
  } catch {
    // A frozen or exotic emitter keeps the instrumentation's methods (I1).
  }
}

function coverOwnMethods(target: object): void {
  const t = target as Record<string, unknown>;
  if (foreignMethod(t, 'on') === undefined) return;
  const added: Added = new Map();
  for (const name of METHODS) {
    const prev = foreignMethod(t, name);
    if (prev === undefined) continue;
    const once = name === 'once' || name === 'prependOnceListener';
    defineOwn(t, name, ownAddWrapper(prev, added, once));
  }
  for (const name of ['removeListener', 'off'] as const) {
    const prev = t[name];
    if (typeof prev === 'function')
      defineOwn(t, name, ownRemoveWrapper(prev as AddListener, added));
  }
  const removeAll = t.removeAllListeners;
  if (typeof removeAll === 'function')
    defineOwn(t, 'removeAllListeners', ownRemoveAllWrapper(removeAll as AddListener, added));
}

/**
 * True when graylane's own-property method of `emitter` is calling through an instrumentation's
 * to this prototype wrapper: the listener is bound already. Cleared here, so a listener added
 * from within Node's method (a `'newListener'` listener adding another) is bound as usual.
 */
function passedThrough(emitter: unknown): boolean {
  const st = state();
  if (st.passing !== emitter) return false;
  st.passing = undefined;
  return true;
}

/** `t[name]` when it is an own method that is not graylane's. */
function foreignMethod(t: Record<string, unknown>, name: string): AddListener | undefined {
  const d = Object.getOwnPropertyDescriptor(t, name);
  const fn = d?.value as (AddListener & { [OWN]?: true; [WRAPPER]?: true }) | undefined;
  return typeof fn === 'function' && !fn[OWN] && !fn[WRAPPER] ? fn : undefined;
}

function defineOwn(t: object, name: string, fn: object): void {
  Object.defineProperty(fn, OWN, { value: true });
  Object.defineProperty(t, name, { value: fn, writable: true, configurable: true });
}

/**
 * Over an instrumentation's own `on` / `addListener` / `prependListener` / `once` /
 * `prependOnceListener`: the app's listener bound to the request's context, then handed to the
 * instrumentation's method (its `once` keeps the once semantics). What that method then calls
 * on the prototype passes graylane's bound listener through unwrapped (`passing`).
 */
function ownAddWrapper(prev: AddListener, added: Added, once: boolean): AddListener {
  return function graylaneOwnAddListener(this: unknown, type, listener) {
    const st = state();
    const store =
      typeof listener === 'function' && st.passing !== this ? storeFor(this) : undefined;
    if (store === undefined || !userListener(listener, type, this))
      // eslint-disable-next-line prefer-rest-params
      return Reflect.apply(prev, this, arguments);
    const bound = once
      ? ownOnceListener(store, added, type, listener)
      : contextListener(store, listener);
    remember(added, type, listener, bound);
    const outer = st.passing;
    st.passing = this as object;
    try {
      return Reflect.apply(prev, this, [type, bound]);
    } finally {
      st.passing = outer;
    }
  };
}

/** A context listener added with a once method: forgotten when it fires. */
function ownOnceListener(
  store: GrayStore,
  added: Added,
  type: string | symbol,
  listener: Listener,
): Listener {
  const bound: Listener = function graylaneListener(this: unknown) {
    forget(added, type, listener, bound);
    // eslint-disable-next-line prefer-rest-params
    return inStore(store, listener, this, arguments);
  };
  bound.listener = listener;
  return bound;
}

function remember(added: Added, type: string | symbol, listener: Listener, bound: Listener): void {
  let byFn = added.get(type);
  if (byFn === undefined) added.set(type, (byFn = new WeakMap()));
  const list = byFn.get(listener);
  if (list === undefined) byFn.set(listener, [bound]);
  else list.push(bound);
}

function forget(added: Added, type: string | symbol, listener: Listener, bound: Listener): void {
  const list = added.get(type)?.get(listener);
  const i = list === undefined ? -1 : list.lastIndexOf(bound);
  if (i >= 0) list?.splice(i, 1);
}

/**
 * Over `removeListener` / `off`: the app's function becomes graylane's latest wrapper of it, the
 * listener the instrumentation's method was given (it maps that to its own wrapper).
 */
function ownRemoveWrapper(prev: AddListener, added: Added): AddListener {
  return function graylaneOwnRemoveListener(this: unknown, type, listener) {
    const bound = added.get(type)?.get(listener)?.pop();
    // eslint-disable-next-line prefer-rest-params
    if (bound === undefined) return Reflect.apply(prev, this, arguments);
    return Reflect.apply(prev, this, [type, bound]);
  };
}

/** Over `removeAllListeners`: what graylane kept for those events goes too. */
function ownRemoveAllWrapper(prev: AddListener, added: Added): AddListener {
  return function graylaneOwnRemoveAllListeners(this: unknown, type?: string | symbol) {
    if (arguments.length === 0) added.clear();
    else added.delete(type as string | symbol);
    // eslint-disable-next-line prefer-rest-params
    return Reflect.apply(prev, this, arguments);
  } as AddListener;
}

/** `on` / `addListener` / `prependListener`: the listener bound when added in the context. */
function addWrapper(original: (key: Method) => AddListener, name: Method): AddListener {
  return function graylaneAddListener(this: unknown, type, listener) {
    let store = typeof listener === 'function' ? storeFor(this) : undefined;
    if (store !== undefined && passedThrough(this)) store = undefined;
    // A listener that is already a wrapper (Node's `once`, graylane's own) is left as it is:
    // wrapping it again would break its removal by identity; so are Node's own (`clearIncoming`
    // is added on Node 20/22 when the response finishes, and never reads a request context).
    if (store === undefined || !userListener(listener, type, this))
      // eslint-disable-next-line prefer-rest-params
      return Reflect.apply(original(name), this, arguments);
    return Reflect.apply(original(name), this, [type, contextListener(store, listener)]);
  };
}

/**
 * `once` / `prependOnceListener`: Node's once wrapper (it removes itself by identity, and
 * `removeListener(type, listener)` finds it through `.listener`) that also enters the context.
 * Added through the parent's `on` / `prependListener`, as Node's `once` adds through `this.on`.
 */
function onceWrapper(
  original: (key: Method) => AddListener,
  add: Method,
  name: Method,
): AddListener {
  return function graylaneOnce(this: unknown, type, listener) {
    let store = typeof listener === 'function' ? storeFor(this) : undefined;
    if (store !== undefined && passedThrough(this)) store = undefined;
    // eslint-disable-next-line prefer-rest-params
    if (store === undefined) return Reflect.apply(original(name), this, arguments);
    const once = onceListener(store, this as Removable, type, listener, listener);
    return Reflect.apply(original(add), this, [type, once]);
  };
}

interface Removable {
  removeListener(type: string | symbol, listener: Listener): unknown;
}

/**
 * A once listener that enters `store` (or its successor): it removes itself by its own identity
 * before calling `call`, and carries `listed` (the app's function) as `.listener`, as Node's
 * `once` wrappers do, so `removeListener(type, listed)` and `listeners()` see the app's function.
 */
function onceListener(
  store: GrayStore,
  target: Removable,
  type: string | symbol,
  call: Listener,
  listed: Listener,
): Listener {
  let fired = false;
  const once: Listener = function graylaneOnceListener(this: unknown) {
    if (fired) return undefined;
    fired = true;
    target.removeListener(type, once);
    // eslint-disable-next-line prefer-rest-params
    return inStore(store, call, this, arguments);
  };
  once.listener = listed;
  return once;
}

/**
 * The request context `emitter`'s listeners are bound to when added right now: the current one,
 * when `emitter` is its request or response. A listener added outside it (Node's own, added from
 * the socket when the response finishes; another request's callback) is left as it is.
 */
function storeFor(emitter: unknown): GrayStore | undefined {
  const store = storage().getStore();
  return store !== undefined && (store.request === emitter || store.response === emitter)
    ? store
    : undefined;
}

/** `listener` entering `store` (or the stricter store that replaced it) when called. */
function contextListener(store: GrayStore, listener: Listener): Listener {
  const bound: Listener = function graylaneListener(this: unknown) {
    // eslint-disable-next-line prefer-rest-params
    return inStore(store, listener, this, arguments);
  };
  bound.listener = listener;
  return bound;
}

/**
 * @internal Calls `fn` inside `store` (or the stricter store that replaced it), and inside the
 * OTel context its handler runs in when the OTel bridge kept one (`GrayStore.otelContext`): how
 * a request's listeners are called, and its streamed body's reads (context/body-streams.ts).
 */
export function inStore(
  store: GrayStore,
  fn: Listener,
  self: unknown,
  args: ArrayLike<unknown>,
): unknown {
  let s = store;
  while (s.successor !== undefined) s = s.successor;
  const als = storage();
  const otel = s.otelContext;
  if (als.getStore() === s)
    return otel === undefined ? Reflect.apply(fn, self, args) : inOtel(otel, fn, self, args);
  if (otel === undefined) return als.run(s, Reflect.apply, fn, self, args);
  return als.run(s, inOtel, otel, fn, self, args);
}

/** `fn` inside the OTel context `ctx` (as is when the bridge is gone). */
function inOtel(ctx: unknown, fn: Listener, self: unknown, args: ArrayLike<unknown>): unknown {
  const bridge = getOtelBridge();
  return bridge === undefined ? Reflect.apply(fn, self, args) : bridge.runIn(ctx, fn, self, args);
}

/**
 * Listeners already on a request or response when it is decided — added by middleware before
 * graylane — wrapped in place (`_events`, whose values Node's own `once` wrappers share the
 * shape of). Node's own (`resOnFinish`, `clearIncoming`) never read a request context and are
 * left alone, as are graylane's wrappers; Node's `once` wrappers (they remove themselves by
 * identity) are replaced by graylane's, which keep the app's function as `.listener`.
 *
 * `_events` is a null-prototype object, which V8 keeps in dictionary mode: enumerating it costs
 * more than looking up the events a request or response usually has (issue 20: about 1.4 k
 * instructions per koa request, steady state, Node 20 and 24), so those are looked up first,
 * and the object is enumerated — string keys, then symbols — only when they do not account for
 * `_eventsCount`.
 */
function bindExisting(store: GrayStore, target: object): void {
  const t = target as { _events?: Record<string | symbol, unknown>; _eventsCount?: number };
  const events = t._events;
  if (typeof events !== 'object' || events === null) return;
  // Most requests have no listener yet, most responses only Node's `finish` one: no scan.
  const count = t._eventsCount;
  if (count === 0) return;
  // A single bound function under a response's `finish` is Node's own `resOnFinish`, which
  // every Node 20–24 server response has from its creation (a listener someone added beside it
  // makes `finish` an array): not read by name, which on a bound function builds a string.
  // Alone it leaves nothing to bind; @hono/node-server adds a `close` listener beside it to
  // every response before any middleware runs. (A response made by hand whose one `finish`
  // listener is the app's bound function is left unbound.)
  const finish = events.finish;
  const nodeFinish = typeof finish === 'function' && mayBeResOnFinish(finish, target);
  if (nodeFinish && count === 1) return;
  let found = 0;
  for (let i = 0; i < COMMON_EVENTS.length; i++) {
    const type = COMMON_EVENTS[i] as string;
    const l = events[type];
    if (l === undefined) continue;
    // COMMON_EVENTS[0] is 'finish'.
    if (i !== 0 || !nodeFinish) bindListeners(store, target, events, type, l);
    if (++found === count) return;
  }
  // Listeners for other events, symbols included (or a count graylane cannot vouch for): every
  // key, once. Those bound above are graylane's wrappers now, which are left alone.
  for (const type in events) bindListeners(store, target, events, type, events[type]);
  for (const type of Object.getOwnPropertySymbols(events))
    bindListeners(store, target, events, type, (events as Record<symbol, unknown>)[type]);
}

/** The events requests and responses usually have listeners for, most frequent first. */
const COMMON_EVENTS = ['finish', 'end', 'close', 'error', 'data', 'aborted', 'prefinish'];

function bindListeners(
  store: GrayStore,
  target: object,
  events: Record<string | symbol, unknown>,
  type: string | symbol,
  l: unknown,
): void {
  if (typeof l === 'function') {
    const bound = boundExisting(store, target, type, l as Listener);
    if (bound !== undefined) events[type] = bound;
  } else if (Array.isArray(l)) {
    for (let i = 0; i < l.length; i++) {
      const f = l[i] as Listener;
      if (typeof f !== 'function') continue;
      const bound = boundExisting(store, target, type, f);
      if (bound !== undefined) l[i] = bound;
    }
  }
}

/**
 * What replaces a listener that was there before the request was decided, or undefined to leave
 * it. A Node `once` wrapper (it removes itself by its own identity) becomes graylane's: that
 * removes itself, then calls Node's, which finds nothing left to remove and calls the app's
 * function once.
 */
function boundExisting(
  store: GrayStore,
  target: object,
  type: string | symbol,
  fn: Listener,
): Listener | undefined {
  if (userListener(fn, type, target)) return contextListener(store, fn);
  if (nodeOnce(fn))
    return onceListener(store, target as Removable, type, fn, fn.listener as Listener);
  return undefined;
}

/**
 * True for a Node `once` wrapper (`.listener` is the app's function): named and written as the
 * one Node makes for a probe. Not graylane's wrappers, nor another library's that carries
 * `.listener` but is not a once (turning that into a once would drop its later events).
 */
function nodeOnce(fn: Listener): boolean {
  if (fn.listener === undefined) return false;
  const probe = nodeOnceProbe();
  return fn.name === probe.name && toSource.call(fn) === probe.source;
}

/**
 * False for wrappers (graylane's, Node's `once`) and for Node's own listeners: `resOnFinish`, a
 * bound function on a response's `finish` (Node 20–24 bind it), and `clearIncoming` on a
 * request's `end`. A name is read only where one of those can be, since reading one is not free
 * and on a bound function builds a string (issue 20: ~0.5 k instructions; on-finished puts two
 * listeners beside Node's on every koa and morgan response): a function with a `prototype` of
 * its own is not bound, and neither listener is ever on the other kind of object.
 */
function userListener(fn: Listener, type: string | symbol, target: unknown): boolean {
  if (fn.listener !== undefined) return false;
  if (type === 'finish') return !mayBeResOnFinish(fn, target) || fn.name !== 'bound resOnFinish';
  if (type === 'end') return !(target instanceof IncomingMessage) || fn.name !== 'clearIncoming';
  return true;
}

/**
 * Whether `fn` can be Node's `resOnFinish` without reading its name: a bound function (no
 * `prototype` of its own) on a response.
 */
function mayBeResOnFinish(fn: object, target: unknown): boolean {
  return !hasOwn.call(fn, 'prototype') && target instanceof ServerResponse;
}

/**
 * The name and source of Node's `once` wrappers (`bound onceWrapper` to Node 22, a closure
 * named `wrapper` from 24), read from one made on a probe emitter.
 */
let onceProbe: { readonly name: string; readonly source: string } | undefined;
function nodeOnceProbe(): { readonly name: string; readonly source: string } {
  if (onceProbe === undefined) {
    const probe = new EventEmitter();
    probe.once('probe', () => undefined);
    const w = probe.rawListeners('probe')[0] as Listener | undefined;
    onceProbe = w ? { name: w.name, source: toSource.call(w) } : { name: '', source: '' };
  }
  return onceProbe;
}

const toSource = Function.prototype.toString;

/** The fallback: this object's own `emit`, wrapped once; it finds the store at emit time. */
function wrapOwnEmit(target: EmitterLike): void {
  const marked = target as { [BOUND]?: true };
  if (marked[BOUND]) return;
  const emit = target.emit;
  target.emit = function graylaneEmit(this: EmitterLike): boolean {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as unknown[];
    if (needsContext(this, args[0])) {
      const store = state().others.get(this);
      if (store !== undefined) return inStore(store, emit as Listener, this, args) as boolean;
    }
    return Reflect.apply(emit, this, args) as boolean;
  } as Emit;
  marked[BOUND] = true;
}

/** False when nobody listens to `event`, or only Node's own listener does. */
function needsContext(emitter: EmitterLike, event: unknown): boolean {
  const events = (emitter as { _events?: Record<string | symbol, unknown> })._events;
  if (typeof events !== 'object' || events === null)
    return emitter.listenerCount?.(event as string) !== 0;
  const listeners = events[event as string];
  if (listeners === undefined) return false;
  if (typeof listeners !== 'function') return true;
  return userListener(listeners as Listener, event as string | symbol, emitter);
}
