import { currentStore, type GrayStore } from '../context/storage.js';
import type { Allowlist } from '@graylane/core';
import { outboundState } from '../outbound/state.js';
import { recordDeparture } from './record.js';
import { captureStack } from './site.js';
import { coverageState } from './state.js';

/** The context and call site of a request, taken when the code that made it made it. */
interface Snapshot {
  readonly store: GrayStore | undefined;
  readonly stack: Error | undefined;
}

/** Snapshots by request object (a node:http `ClientRequest` or an undici `Request`). */
const snapshots = new WeakMap<object, Snapshot>();

/** The part of a node:http `ClientRequest` read here. */
interface ClientRequestLike {
  readonly protocol?: unknown;
  readonly host?: unknown;
  readonly socketPath?: unknown;
  getHeader(name: string): unknown;
}

/** The part of an undici `Request` read here (undici 5–7: headers a flat array or a string). */
interface UndiciRequestLike {
  readonly origin?: unknown;
  readonly path?: unknown;
  readonly headers?: unknown;
}

/** What graylane's outbound hooks decided about an undici request (outbound/origin.ts). */
interface OriginLike {
  readonly store?: GrayStore | undefined;
  readonly note?: { readonly allow?: Allowlist | undefined } | undefined;
}

/**
 * `http.client.request.created` (Node ≥ 22.13) and `undici:request:create`: published
 * synchronously in the code that made the call. The lane is read now; the stack only when the
 * request might leave without the marker (no marker header yet) or with no lane bound while a
 * request is in flight — the cases that get a call site.
 */
function onCreated(
  request: unknown,
  hasMarker: (store: GrayStore) => boolean,
  listener: (message: unknown) => void,
): void {
  try {
    if (typeof request !== 'object' || request === null) return;
    const store = currentStore();
    const state = coverageState();
    const wantsSite =
      store === undefined
        ? state.install?.unbound === true && state.inFlight > 0
        : !hasMarker(store);
    snapshots.set(request, { store, stack: wantsSite ? captureStack(listener) : undefined });
  } catch {
    // I1
  }
}

/** `http.client.request.created`. */
export function onHttpCreated(message: unknown): void {
  const request = (message as { request?: ClientRequestLike } | undefined)?.request;
  onCreated(
    request,
    (store) => hasHttpMarker(request as ClientRequestLike, store),
    onHttpCreated,
  );
}

/**
 * `http.client.request.start`: the head is final. The lane is the one snapshotted at creation
 * (Node ≥ 22.13), else the one current now (Node 20: no `created` channel, no call site).
 */
export function onHttpStart(message: unknown): void {
  try {
    const install = coverageState().install;
    const request = (message as { request?: ClientRequestLike } | undefined)?.request;
    if (install === undefined || typeof request !== 'object' || request === null) return;
    const snapshot = snapshots.get(request);
    const store = snapshot === undefined ? currentStore() : snapshot.store;
    if (store === undefined && !(install.unbound && coverageState().inFlight > 0)) return;
    recordDeparture(
      {
        destination: httpDestination(request),
        store,
        planned: undefined,
        carried: store !== undefined && hasHttpMarker(request, store),
        stack: snapshot?.stack,
      },
      install,
    );
  } catch {
    // I1
  }
}

/** `undici:request:create`. */
export function onUndiciCreate(message: unknown): void {
  const request = (message as { request?: UndiciRequestLike } | undefined)?.request;
  onCreated(
    request,
    (store) => hasRawMarker(undiciHeaderText(request?.headers), store),
    onUndiciCreate,
  );
}

/**
 * `undici:client:sendHeaders`: the head as written to the socket. The lane is the caller's as
 * graylane's outbound hooks proved it (outbound/origin.ts: a queued request is created from
 * another request's context), else the one snapshotted at creation.
 */
export function onUndiciSendHeaders(message: unknown): void {
  try {
    const install = coverageState().install;
    const { request, headers } = (message ?? {}) as {
      request?: UndiciRequestLike;
      headers?: unknown;
    };
    if (install === undefined || typeof request !== 'object' || request === null) return;
    const origin = originOf(request);
    const snapshot = snapshots.get(request);
    const store = origin !== undefined ? origin.store : snapshot?.store;
    if (store === undefined && !(install.unbound && coverageState().inFlight > 0)) return;
    const text = typeof headers === 'string' ? headers : undiciHeaderText(request.headers);
    recordDeparture(
      {
        destination: undiciDestination(request),
        store,
        planned: origin?.note?.allow,
        carried: store !== undefined && hasRawMarker(text, store),
        stack: snapshot?.stack,
      },
      install,
    );
  } catch {
    // I1
  }
}

function originOf(request: object): OriginLike | undefined {
  const origins = (outboundState() as { origins?: WeakMap<object, OriginLike> }).origins;
  return origins instanceof WeakMap ? origins.get(request) : undefined;
}

function hasHttpMarker(request: ClientRequestLike, store: GrayStore): boolean {
  if (typeof request.getHeader !== 'function') return false;
  if (present(request.getHeader(store.header))) return true;
  if (store.baggageKey === false) return false;
  const baggage = request.getHeader('baggage');
  const text = Array.isArray(baggage) ? baggage.join(',') : String(baggage ?? '');
  return hasMember(text, store.baggageKey);
}

function present(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== '';
}

/** Whether a raw head (`name: value\r\n…`) has the marker header or the baggage member. */
function hasRawMarker(text: string, store: GrayStore): boolean {
  const lower = `\r\n${text.toLowerCase()}`;
  if (lower.includes(`\r\n${store.header}:`)) return true;
  if (store.baggageKey === false) return false;
  for (const line of lower.split('\r\n'))
    if (line.startsWith('baggage:') && hasMember(line.slice(8), store.baggageKey)) return true;
  return false;
}

function hasMember(list: string, key: string): boolean {
  return list.split(',').some((m) => m.split('=')[0]?.trim().toLowerCase() === key.toLowerCase());
}

/** undici 6/7 keep headers as a flat `[name, value, …]` array, undici 5 as a raw string. */
function undiciHeaderText(headers: unknown): string {
  if (typeof headers === 'string') return headers;
  if (!Array.isArray(headers)) return '';
  let text = '';
  for (let i = 0; i + 1 < headers.length; i += 2)
    text += `${String(headers[i])}: ${String(headers[i + 1])}\r\n`;
  return text;
}

function undiciDestination(request: UndiciRequestLike): string | undefined {
  try {
    const path = request.path;
    if (typeof path === 'string' && /^https?:\/\//i.test(path)) return new URL(path).origin;
    return typeof request.origin === 'string' || request.origin instanceof URL
      ? new URL(String(request.origin)).origin
      : undefined;
  } catch {
    return undefined;
  }
}

/** `scheme://host:port` of a node:http request (the Host header Node wrote gives the port). */
function httpDestination(request: ClientRequestLike): string | undefined {
  try {
    if (typeof request.socketPath === 'string' && request.socketPath !== '') return undefined;
    const protocol = typeof request.protocol === 'string' ? request.protocol : 'http:';
    const host = typeof request.host === 'string' ? request.host : 'localhost';
    const header = request.getHeader('host');
    const authority = typeof header === 'string' && sameHost(header, host) ? header : bracket(host);
    return new URL(`${protocol}//${authority}`).origin;
  } catch {
    return undefined;
  }
}

function sameHost(header: string, host: string): boolean {
  const h = header.toLowerCase();
  const b = bracket(host).toLowerCase();
  return h === b || h.startsWith(`${b}:`);
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
