import { currentStore, type GrayStore } from '../context/storage.js';
import type { Allowlist } from '@graylane/core';
import { authorityOrigin, sessionOrigin } from '../outbound/http2-target.js';
import { outboundState } from '../outbound/state.js';
import { headerList, rawValues, readWire, type Wire } from './marker.js';
import { recordDeparture, sitesWanted } from './record.js';
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
 * synchronously in the code that made the call. The lane is read now; the stack unless the
 * request already carries its own lane to a destination allowlisted for it — it may still leave
 * without the marker, with another lane's, or with a marker for a host outside the allowlist
 * (a leak), and each of those is logged with its call site — or, with no lane bound, while a
 * request is in flight (`unbound`).
 */
function onCreated(
  request: unknown,
  read: (store: GrayStore) => { wire: Wire; destination: string | undefined },
  listener: (message: unknown) => void,
): void {
  try {
    if (typeof request !== 'object' || request === null) return;
    const store = currentStore();
    const state = coverageState();
    let wantsSite: boolean;
    if (store === undefined) wantsSite = state.install?.unbound === true && state.inFlight > 0;
    else {
      const { wire, destination } = read(store);
      wantsSite = sitesWanted(store, wire, destination, originOf(request)?.note?.allow);
    }
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
    (store) => ({
      wire: httpWire(request as ClientRequestLike, store),
      destination: httpDestination(request as ClientRequestLike),
    }),
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
        wire: store === undefined ? undefined : httpWire(request, store),
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
    (store) => ({
      wire: rawWire(undiciHeaderText(request?.headers), store),
      destination: undiciDestination(request as UndiciRequestLike),
    }),
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
    // Written on a connection that proved nothing (outbound/hop-connection.ts): withheld from
    // wherever it goes, whatever this head (undici's HTTP/2 one is built before) still shows.
    const cleaned = outboundState().connections?.cleaned.has(request) === true;
    recordDeparture(
      {
        destination: cleaned ? undefined : undiciDestination(request),
        store,
        planned: origin?.note?.allow,
        wire: cleaned || store === undefined ? undefined : rawWire(text, store),
        stack: snapshot?.stack,
      },
      install,
    );
  } catch {
    // I1
  }
}

/**
 * `http2.client.stream.created` (Node's own channel, on the Node 22 and 24 releases that have
 * it): published at the end of `ClientHttp2Session.request()`, in the code that called it, with
 * the headers as sent. While `installGlobal`'s HTTP/2 patch runs that call, the patch announces
 * the stream itself, with the lane it judged with ({@link onHttp2Request}), so this steps aside.
 */
export function onHttp2Created(message: unknown): void {
  try {
    if (outboundState().http2?.calling !== undefined) return;
    const { stream, headers } = (message ?? {}) as { stream?: unknown; headers?: unknown };
    // undici 7 published this request's head on `undici:client:sendHeaders`: counted there.
    const session = (stream as { session?: unknown } | undefined)?.session;
    if (typeof session === 'object' && session !== null)
      if (outboundState().connections?.headed.has(session) === true) return;
    recordHttp2(stream, headers, currentStore(), onHttp2Created);
  } catch {
    // I1
  }
}

/** Every request `installGlobal`'s HTTP/2 patch judged (the only view of HTTP/2 on Node 20). */
export function onHttp2Request(stream: object, store: GrayStore | undefined): void {
  try {
    recordHttp2(stream, (stream as { sentHeaders?: unknown }).sentHeaders, store, onHttp2Request);
  } catch {
    // I1
  }
}

function recordHttp2(
  stream: unknown,
  headers: unknown,
  store: GrayStore | undefined,
  listener: (...args: never[]) => unknown,
): void {
  const state = coverageState();
  const install = state.install;
  if (install === undefined || typeof stream !== 'object' || stream === null) return;
  const unbound = install.unbound && state.inFlight > 0;
  if (store === undefined && !unbound) return;
  const wire = store === undefined ? undefined : http2Wire(headers, store);
  const destination = http2Destination(stream, headers);
  const wantsSite =
    store === undefined || wire === undefined || sitesWanted(store, wire, destination, undefined);
  recordDeparture(
    {
      destination,
      store,
      planned: undefined,
      wire,
      stack: wantsSite ? captureStack(listener) : undefined,
    },
    install,
  );
}

/** Every value of `name` in HTTP/2 headers: an object (keys in any case) or a raw array. */
function http2Values(headers: unknown, name: string): string[] {
  const out: string[] = [];
  const push = (v: unknown) => {
    if (Array.isArray(v)) for (const x of v) out.push(String(x));
    else if (v !== undefined && v !== null) out.push(String(v));
  };
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2)
      if (String(headers[i]).toLowerCase() === name) push(headers[i + 1]);
  } else if (typeof headers === 'object' && headers !== null) {
    for (const key of Object.keys(headers))
      if (key.toLowerCase() === name) push((headers as Record<string, unknown>)[key]);
  }
  return out;
}

function http2Wire(headers: unknown, store: GrayStore): Wire {
  return readWire(http2Values(headers, store.header), http2Values(headers, 'baggage'), store);
}

/** The origin the request named (`:scheme` and `:authority`), else its session's. */
function http2Destination(stream: object, headers: unknown): string | undefined {
  const own = sessionOrigin((stream as { session?: unknown }).session);
  const [scheme] = http2Values(headers, ':scheme');
  const [authority] = http2Values(headers, ':authority');
  if (authority === undefined) return own?.origin;
  return authorityOrigin(scheme ?? own?.protocol.slice(0, -1) ?? 'https', authority);
}

function originOf(request: object): OriginLike | undefined {
  const origins = (outboundState() as { origins?: WeakMap<object, OriginLike> }).origins;
  return origins instanceof WeakMap ? origins.get(request) : undefined;
}

/** What a node:http request's headers carry (marker.ts). */
function httpWire(request: ClientRequestLike, store: GrayStore): Wire {
  if (typeof request.getHeader !== 'function') return { version: undefined, present: false };
  return readWire(
    headerList(request.getHeader(store.header)),
    headerList(request.getHeader('baggage')),
    store,
  );
}

/** What a raw head (`name: value\r\n…`) carries. */
function rawWire(text: string, store: GrayStore): Wire {
  return readWire(rawValues(text, store.header), rawValues(text, 'baggage'), store);
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
