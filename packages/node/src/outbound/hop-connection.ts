import { subscribe } from 'node:diagnostics_channel';
import { DEFAULT_HEADER, DEFAULT_MARKER_KEY } from '@graylane/core';
import { socketReaches } from './connection-proof.js';
import { listToRaw, rawToList } from './header-list.js';
import { dropMember, flatOps } from './hop-headers.js';
import { outboundState } from './state.js';

/** Published by every undici (npm 5–7, Node's bundled one) when a Client's socket is ready. */
const CONNECTED = 'undici:client:connected';

/** The `connected` message (undici 5–7). */
interface ConnectedLike {
  readonly connectParams?: { hostname?: unknown; port?: unknown; protocol?: unknown };
  readonly socket?: unknown;
}

/**
 * @internal Watches the connections undici's Clients make (CTX-13, review 128 D2). A request is
 * judged on its origin, but the Client's connector decides where the head goes: undici's own
 * connects to the origin, a `connect` function of the caller's (or a `socketPath`, a tunnel)
 * wherever it likes. So each new connection is checked once (connection-proof.ts); one that
 * does not prove it reaches the Client's origin marks the Client, and every request it writes
 * loses graylane's marker and any `gray` member before its head is built — those queued now
 * (undici writes them after this message), and later ones through `guardConnection`. A
 * connection that proves it (the common case) costs one check per connection. Called once per
 * process, with the `undici:request:create` listener.
 */
export function watchConnections(): void {
  subscribe(CONNECTED, onConnected);
}

function onConnected(message: unknown): void {
  try {
    const { connectParams, socket } = (message ?? {}) as ConnectedLike;
    const client = ownValue(socket, 'client');
    if (typeof client !== 'object' || client === null) return;
    const protocol = connectParams?.protocol;
    const port = Number(connectParams?.port) || (protocol === 'https:' ? 443 : 80);
    const hostname = connectParams?.hostname;
    const proven = typeof hostname === 'string' && socketReaches(socket, hostname, port);
    const marked = unproven();
    for (const ref of marked)
      if (ref.deref() === client || ref.deref() === undefined) marked.delete(ref);
    if (proven) return;
    marked.add(new WeakRef(client));
    for (const request of queueOf(client)) scrub(request);
  } catch {
    // I1: the connection is used as undici made it.
  }
}

/**
 * @internal For each undici request as it is created, while some Client's connection is
 * unproven: right before undici builds its head (`onConnect`, undici 5–7 HTTP/1.1, called with
 * the Client's socket ready), a request written by such a Client loses the marker. Nothing is
 * done while every connection proves its origin. Never throws.
 */
export function guardConnection(request: object): void {
  try {
    if (unproven().size === 0) return;
    const target = request as Record<string, unknown>;
    const onConnect = target.onConnect;
    if (typeof onConnect !== 'function') return;
    target.onConnect = function graylaneConnectionGuard(this: unknown, ...args: unknown[]) {
      if (writtenUnproven(request)) scrub(request);
      return (onConnect as (...a: unknown[]) => unknown).apply(this, args);
    };
  } catch {
    // I1: the request proceeds as undici built it.
  }
}

function writtenUnproven(request: object): boolean {
  for (const ref of unproven()) {
    const client = ref.deref();
    if (client !== undefined && queueOf(client).includes(request)) return true;
  }
  return false;
}

/**
 * Removes graylane's marker (the default name and the lane's own) and every `gray` member, in
 * place, from a request graylane judges: in a lane, inside a wrapper-level call, or under
 * `installGlobal({ allowHosts })` (I8) — as if its target were not allowlisted.
 */
function scrub(request: unknown): void {
  try {
    if (typeof request !== 'object' || request === null) return;
    const state = outboundState();
    const origin = state.origins.get(request);
    const { store, note } = origin ?? {};
    const install = state.install;
    const judged =
      store !== undefined || note !== undefined || (install?.undici && install.allow !== undefined);
    if (!judged) return;
    const r = request as { headers?: unknown };
    const raw = typeof r.headers === 'string' ? r.headers : undefined;
    const list = Array.isArray(r.headers) ? (r.headers as unknown[]) : raw && rawToList(raw);
    if (!list) return;
    const ops = flatOps(list);
    for (const name of new Set([DEFAULT_HEADER, store?.header, note?.header]))
      if (name !== undefined && ops.values(name).length > 0) ops.remove(name);
    for (const key of new Set([DEFAULT_MARKER_KEY, store?.baggageKey, note?.baggageKey]))
      if (typeof key === 'string') dropMember(ops, key);
    if (raw !== undefined) r.headers = listToRaw(list);
  } catch {
    // I1: the request proceeds as it is.
  }
}

/** The Clients whose current connection is unproven (weak: a Client dropped is forgotten). */
function unproven(): Set<WeakRef<object>> {
  return (outboundState().unproven ??= new Set());
}

/** A Client's queue of requests (undici 5–7 `kQueue`), written and waiting. */
function queueOf(client: object): readonly unknown[] {
  const queue = ownValue(client, 'queue');
  return Array.isArray(queue) ? queue : [];
}

/** The value of an own symbol property by its description (undici's private symbols). */
function ownValue(target: unknown, description: string): unknown {
  if (typeof target !== 'object' || target === null) return undefined;
  const key = Object.getOwnPropertySymbols(target).find((s) => s.description === description);
  return key === undefined ? undefined : (target as Record<symbol, unknown>)[key];
}
