import { socketReaches } from './connection-proof.js';
import { connectionState, type ConnectionState } from './state.js';

/**
 * Registrations between two sweeps of the registry for Clients collected (a sweep walks every
 * origin's set once; between sweeps only the registering origin's set is pruned).
 */
const SWEEP_EVERY = 256;

/**
 * @internal Remembers `client` (an undici `Client`, any copy: npm 5–7, Node's bundled one) under
 * the origin its requests are created with, weakly. Called when graylane sees it connect or
 * write a head. Never throws.
 */
export function registerClient(client: object): void {
  try {
    const state = connectionState();
    if (state.known.has(client)) return;
    const key = originOf(client);
    if (key === undefined) return;
    state.known.add(client);
    if (++state.registered % SWEEP_EVERY === 0)
      for (const [k, s] of state.clients) prune(state, k, s);
    const known = state.clients.get(key);
    if (known !== undefined) prune(state, key, known);
    let set = state.clients.get(key);
    if (set === undefined) state.clients.set(key, (set = new Set()));
    set.add(new WeakRef(client));
  } catch {
    // I1: an unreadable Client stays unknown (its requests are judged unproven).
  }
}

/** Where every undici copy (npm 5–7, Node's bundled one) keeps the global dispatcher. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/**
 * @internal Registers the Clients the global dispatcher already holds (an Agent's pools and
 * clients, a Pool's clients), so a connection global `fetch` opened before graylane watched
 * undici — a warm-up call at boot, an earlier fetch to the same service — is judged by its
 * socket like any other instead of losing the marker on its first marked request. Bounded: an
 * Agent's origins, each Pool's clients. Never throws.
 */
export function registerGlobalClients(): void {
  registerClients((globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER], 0);
}

function registerClients(dispatcher: unknown, depth: number): void {
  try {
    if (typeof dispatcher !== 'object' || dispatcher === null || depth > 3) return;
    const clients = field(dispatcher, 'clients');
    if (clients instanceof Map) {
      // undici 7: { count, dispatcher }; undici 5 and 6: a WeakRef to the dispatcher.
      for (const entry of clients.values()) {
        const e = entry as { dispatcher?: unknown; deref?: () => unknown } | null;
        registerClients(
          typeof e?.deref === 'function' ? e.deref() : (e?.dispatcher ?? e),
          depth + 1,
        );
      }
    } else if (Array.isArray(clients)) {
      for (const client of clients) registerClients(client, depth + 1);
    } else if (field(dispatcher, 'url') !== undefined && field(dispatcher, 'queue') !== undefined) {
      registerClient(dispatcher);
    }
  } catch {
    // I1: what cannot be read stays unknown (its requests are judged unproven).
  }
}

/** Drops the Clients collected from `set`, and the origin's entry once none is left. */
function prune(state: ConnectionState, key: string, set: Set<WeakRef<object>>): void {
  for (const ref of set) if (ref.deref() === undefined) set.delete(ref);
  if (set.size === 0) state.clients.delete(key);
}

/**
 * @internal The registered Client writing `request` now: undici writes the request at its queue's
 * pending index (`kQueue[kPendingIdx]`, undici 5–7, HTTP/1.1 and HTTP/2) and moves the index past
 * it only once written. Undefined when no Client graylane knows is writing it (one that connected
 * before graylane watched). Never throws.
 */
export function writerOf(request: object): object | undefined {
  try {
    const key = (request as { origin?: unknown }).origin;
    const set = connectionState().clients.get(String(key));
    if (set === undefined) return undefined;
    for (const ref of set) {
      const client = ref.deref();
      if (client !== undefined && writing(client) === request) return client;
    }
  } catch {
    // I1: unknown.
  }
  return undefined;
}

/** @internal The request `client` is writing now, if any (see {@link writerOf}). */
export function writing(client: object): unknown {
  const queue = field(client, 'queue');
  const index = field(client, 'pending index');
  return Array.isArray(queue) && typeof index === 'number' ? queue[index] : undefined;
}

/**
 * @internal Whether `client`'s current connection proves it reaches the Client's origin
 * (connection-proof.ts), decided once per socket while it is connected. No socket, or one that
 * cannot be read: false. Never throws.
 */
export function connectionProven(client: object): boolean {
  try {
    const socket = field(client, 'socket');
    if (typeof socket !== 'object' || socket === null) return false;
    const url = field(client, 'url') as { hostname?: unknown; port?: unknown; protocol?: unknown };
    if (typeof url?.hostname !== 'string') return false;
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    // Keyed by the origin too: a `ProxyAgent` hands the socket its proxy's Client opened (and
    // proved, for the proxy) to the Client of the tunnel's target, where it proves nothing.
    const to = `${String(url.protocol)}//${url.hostname}:${port}`;
    const { proven } = connectionState();
    const known = proven.get(socket);
    if (known?.to === to) return known.verdict;
    const verdict = socketReaches(socket, url.hostname, port);
    // A socket handed over while still connecting proves nothing yet: asked again later.
    if ((socket as { connecting?: unknown }).connecting === false)
      proven.set(socket, { to, verdict });
    return verdict;
  } catch {
    return false;
  }
}

/** @internal The HTTP/2 session `client` writes on (undici's `kHTTP2Session`), if any. */
export function sessionOf(client: object): object | undefined {
  const session = field(client, 'http2Session');
  return typeof session === 'object' && session !== null ? session : undefined;
}

/** @internal The Client a socket undici connected belongs to (`socket[kClient]`), if any. */
export function clientOfSocket(socket: unknown): object | undefined {
  const client = field(socket, 'client');
  return typeof client === 'object' && client !== null ? client : undefined;
}

/** The origin `client` creates its requests with (`kUrl.origin`). */
function originOf(client: object): string | undefined {
  const url = field(client, 'url') as { origin?: unknown } | undefined;
  return typeof url?.origin === 'string' ? url.origin : undefined;
}

/**
 * undici's private symbols, by description, per prototype. Each undici copy has its own symbols;
 * sockets of every copy share Node's prototypes, so a cached symbol is used only where it is an
 * own property of the object read, and looked up again otherwise.
 */
const symbols = new WeakMap<object, Map<string, symbol>>();

/** The value of an own symbol property of an undici object by the symbol's description. */
export function field(target: unknown, description: string): unknown {
  if (typeof target !== 'object' || target === null) return undefined;
  const proto = Object.getPrototypeOf(target) as object | null;
  let byName = proto === null ? undefined : symbols.get(proto);
  let key = byName?.get(description);
  if (key === undefined || !Object.prototype.hasOwnProperty.call(target, key)) {
    key = Object.getOwnPropertySymbols(target).find((s) => s.description === description);
    if (key === undefined) return undefined;
    if (proto !== null) {
      if (byName === undefined) symbols.set(proto, (byName = new Map()));
      byName.set(description, key);
    }
  }
  return (target as Record<symbol, unknown>)[key];
}
