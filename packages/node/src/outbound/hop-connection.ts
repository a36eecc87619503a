import { subscribe } from 'node:diagnostics_channel';
import { DEFAULT_HEADER, DEFAULT_MARKER_KEY } from '@graylane/core';
import { countOutbound } from '../metrics/stats.js';
import { metricsState } from '../metrics/state.js';
import { listToRaw, rawToList } from './header-list.js';
import { dropMember, flatOps, objectOps, type HeaderOps } from './hop-headers.js';
import type { Origin } from './origin.js';
import { connectionState, outboundState } from './state.js';
import {
  clientOfSocket,
  connectionProven,
  registerClient,
  registerGlobalClients,
  sessionOf,
  writerOf,
  writing,
} from './undici-clients.js';

/** Published by every undici (npm 5–7, Node's bundled one) when a Client's socket is ready. */
const CONNECTED = 'undici:client:connected';
/**
 * Published by undici for every head it writes (HTTP/1.1: undici 5–7; HTTP/2: undici 7, before
 * the session's `request()` is called), with the socket it goes on.
 */
const SEND_HEADERS = 'undici:client:sendHeaders';

/**
 * @internal Watches the connections undici's Clients write on (CTX-13, review 128 D2). A request
 * is judged on its origin, but the Client's connector decides where the head goes: undici's own
 * connects to the origin, a `connect` function of the caller's (or a `socketPath`, a tunnel)
 * wherever it likes. So a request graylane judges is looked at once more right before undici
 * builds its head ({@link guardConnection}), on the connection it is written on: one that does
 * not prove it reaches the Client's origin (connection-proof.ts, decided once per socket) —
 * or that graylane cannot tell, a Client that connected before graylane watched — loses
 * graylane's marker and any `gray` member, whatever protocol it negotiated. Clients are learned
 * when they connect and when they write a head: one connected before is known from its first
 * head on (undici 5 and 6 publish no HTTP/2 head: such a connection is never known, and its
 * session is left to `installGlobal`'s HTTP/2 patch, http2-target.ts). Called once per process,
 * with the `undici:request:create` listener.
 */
export function watchConnections(): void {
  subscribe(CONNECTED, onConnected);
  subscribe(SEND_HEADERS, onSendHeaders);
  registerGlobalClients();
}

function onConnected(message: unknown): void {
  learn((message as { socket?: unknown } | undefined)?.socket, false);
}

function onSendHeaders(message: unknown): void {
  learn((message as { socket?: unknown } | undefined)?.socket, true);
}

/** Registers the Client of `socket`, and guards its HTTP/2 session. Never throws. */
function learn(socket: unknown, heading: boolean): void {
  try {
    const client = clientOfSocket(socket);
    if (client === undefined) return;
    registerClient(client);
    const session = sessionOf(client);
    if (session === undefined) return;
    guardSession(session);
    if (heading) connectionState().headed.add(session);
  } catch {
    // I1: the connection is used as undici made it.
  }
}

/**
 * @internal Called by the `undici:request:create` listener before it judges `request`: whether
 * the lane's marker header was there already (the caller's, counted `skipped_caller` then, not
 * `injected`; a wrapper-level call's plan says whose its marker is). Never throws.
 */
export function noteCreated(request: object, origin: Origin, list: unknown[] | undefined): void {
  try {
    const header = origin.store?.header;
    if (header === undefined || origin.note !== undefined || list === undefined) return;
    if (flatOps(list).values(header).length > 0) connectionState().carriedAtCreate.add(request);
  } catch {
    // I1
  }
}

/**
 * @internal For each undici request graylane judges (in a lane, inside a wrapper-level call, or
 * under `installGlobal({ allowHosts })`): right before undici builds its head (`onConnect`,
 * undici 5–7, HTTP/1.1 and HTTP/2, called while the Client writes it), a request whose
 * connection does not prove its origin is cleaned ({@link clean}). undici < 6.7 keeps the head
 * as one string, which its writers copy before `onConnect`: there the head is judged when it is
 * read, by a Client graylane knows writing it ({@link guardStringHead}). Never throws.
 */
export function guardConnection(request: object): void {
  try {
    if (!judged(request)) return;
    const target = request as Record<string, unknown>;
    const onConnect = target.onConnect;
    if (typeof onConnect !== 'function') return;
    if (typeof target.headers === 'string') guardStringHead(request);
    target.onConnect = function graylaneConnectionGuard(this: unknown, ...args: unknown[]) {
      try {
        let client = writerOf(request);
        if (client === undefined) {
          // A Client of the global dispatcher that connected before graylane watched, or
          // was made since without connecting again: learn it now.
          registerGlobalClients();
          client = writerOf(request);
        }
        if (client === undefined || !connectionProven(client)) clean(request);
      } catch {
        // I1: the request proceeds as it is.
      }
      return (onConnect as (...a: unknown[]) => unknown).apply(this, args);
    };
  } catch {
    // I1: the request proceeds as undici built it.
  }
}

/**
 * undici < 6.7 reads a request's head string once, when its Client starts writing it (HTTP/1.1
 * and HTTP/2 alike), before `onConnect`: the head becomes an accessor that, read by a Client
 * graylane knows while it writes this request, judges that Client's connection first. Anything
 * else reading or appending (`addHeader`) sees and sets the same string. A Client graylane does
 * not know yet (connected before it watched) is seen only at `onConnect`, too late for such a
 * head: that first request goes as written.
 */
function guardStringHead(request: object): void {
  const r = request as { headers?: unknown };
  let value = r.headers;
  let judging = false;
  Object.defineProperty(request, 'headers', {
    configurable: true,
    enumerable: true,
    get() {
      if (!judging && !connectionState().cleaned.has(request)) {
        judging = true;
        try {
          const client = writerOf(request);
          if (client !== undefined && !connectionProven(client)) clean(request);
        } catch {
          // I1: the head goes as it is.
        } finally {
          judging = false;
        }
      }
      return value;
    },
    set(next: unknown) {
      value = next;
    },
  });
}

/** A request graylane judges: in a lane, inside a wrapper-level call, or with I8's allowHosts. */
function judged(request: object): boolean {
  const state = outboundState();
  const origin = state.origins.get(request);
  if (origin?.store !== undefined || origin?.note !== undefined) return true;
  const install = state.install;
  return install?.undici === true && install.allow !== undefined;
}

/**
 * Removes graylane's marker (the default name and the lane's own) and every `gray` member from
 * a request written on a connection that proves nothing, as if its target were not allowlisted
 * (I8): in place in undici's header list (HTTP/1.1 builds its head from it after `onConnect`),
 * and from the head undici 7 hands its HTTP/2 session (see {@link guardSession}: undici copies
 * the list into that head before `onConnect`). A marker graylane added there was counted
 * `injected` when the hop was judged: it is counted `skipped_host` instead (what happened).
 */
function clean(request: object): void {
  const { cleaned } = connectionState();
  if (cleaned.has(request)) return;
  cleaned.add(request);
  const r = request as { headers?: unknown };
  const raw = typeof r.headers === 'string' ? r.headers : undefined;
  const list = Array.isArray(r.headers) ? (r.headers as unknown[]) : raw && rawToList(raw);
  if (!list) return;
  const ours = addedByGraylane(request, list);
  scrub(request, flatOps(list));
  if (raw !== undefined) r.headers = listToRaw(list);
  if (ours) recount();
}

/** Whether `list` holds the lane's marker header graylane added (and counted `injected`). */
function addedByGraylane(request: object, list: unknown[]): boolean {
  const origin = outboundState().origins.get(request);
  const plan = origin?.note;
  const header = plan?.header ?? origin?.store?.header;
  if (header === undefined || flatOps(list).values(header).length === 0) return false;
  if (plan !== undefined) return !plan.callerOwns;
  return !connectionState().carriedAtCreate.has(request);
}

/**
 * One hop counted `injected` when it was judged is counted `skipped_host`: exactly in
 * `outboundStats()`; the OpenTelemetry counter, monotonic, keeps the `injected` it was given.
 */
function recount(): void {
  const counts = metricsState().outbound;
  if (counts.injected > 0) counts.injected--;
  countOutbound('skipped_host');
}

/** Removes the marker names and `gray` members of `request`'s lane and call from `ops`. */
function scrub(request: object, ops: HeaderOps): void {
  const origin = outboundState().origins.get(request);
  const { store, note } = origin ?? {};
  for (const name of new Set([DEFAULT_HEADER, store?.header, note?.header]))
    if (name !== undefined && ops.values(name).length > 0) ops.remove(name);
  for (const key of new Set([DEFAULT_MARKER_KEY, store?.baggageKey, note?.baggageKey]))
    if (typeof key === 'string') dropMember(ops, key);
}

/**
 * undici (HTTP/2) builds the head it hands `session.request()` from the request's list before it
 * calls `onConnect`: the session undici made is given a `request` of its own (this session
 * only; Node's, or `installGlobal`'s, still runs under it) that removes the marker from the head
 * of a request {@link clean} cleaned. The request is the one its Client is writing now.
 */
function guardSession(session: object): void {
  const { sessions } = connectionState();
  if (sessions.has(session)) return;
  sessions.add(session);
  const own = Object.prototype.hasOwnProperty.call(session, 'request')
    ? (session as { request?: unknown }).request
    : undefined;
  Object.defineProperty(session, 'request', {
    configurable: true,
    writable: true,
    value: function graylaneSessionGuard(this: unknown, ...args: unknown[]): unknown {
      stripHead(session, args[0]);
      const next =
        typeof own === 'function'
          ? own
          : (Object.getPrototypeOf(session) as { request: (...a: unknown[]) => unknown }).request;
      return (next as (...a: unknown[]) => unknown).apply(this, args);
    },
  });
}

function stripHead(session: object, headers: unknown): void {
  try {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return;
    const client = clientOfSocket(session);
    const request = client === undefined ? undefined : writing(client);
    if (typeof request !== 'object' || request === null) return;
    if (connectionState().cleaned.has(request))
      scrub(request, objectOps(headers as Record<string, unknown>));
  } catch {
    // I1: the head goes as undici built it.
  }
}
