import { GraylaneError, createAllowlist, type AllowEntry, type Allowlist } from '@graylane/core';
import { GrayLane, currentLane } from '../context/storage.js';
import { MAX_REDIRECTS } from '../limits.js';
import { checkIntegrity, discard, integrityOf } from './integrity.js';
import { applyLane } from './plan.js';
import { hopHeaders, nextHop } from './redirect.js';
import { NONE, STREAM, planInitReplay, planReplay, type Replay } from './replay.js';

/** The signature of the runtime's `fetch`: what `withGray()` returns when given no fetch. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * Any fetch `withGray` wraps, structurally: the runtime's `fetch`, npm undici's (6, 7 and 8, each
 * with its own `Request`, `RequestInit` and `Response` types), a test double. Typed loosely on
 * purpose — no `Request` type fits them all — since `withGray` returns your fetch's own type.
 */
export type FetchImplLike = (input: string, init?: undefined) => Promise<unknown>;

/** Options of {@link withGray}. */
export interface WithGrayOptions {
  /**
   * Targets that receive the marker. Default: the allowlist of the lane (the engine's
   * `allowHosts`); with neither, nothing is injected (I8).
   */
  readonly allowHosts?: readonly AllowEntry[];
  /**
   * The lane to carry: a lane (e.g. `outcome.lane`) or a function returning one. Default: the
   * lane bound to the current async context, where the runtime has an `AsyncLocalStorage`.
   */
  readonly lane?: GrayLane | (() => GrayLane | undefined);
  /**
   * The most bytes of a `Request`'s body (or `FormData`) kept to resend it on a 307/308.
   * Default 1 MiB. Bodies given in `init` as a string, bytes, a Blob or `URLSearchParams` are
   * resent from the value itself, without a limit; streams are never resent (as in fetch), and a
   * `Request`'s body is resent only when all of it is held when the redirect arrives.
   */
  readonly maxReplayBytes?: number;
}

/**
 * Wraps a fetch so each hop to an allowlisted target carries the lane (`X-Gray-Id` and a
 * `gray` baggage member) and no other hop does. With the default `redirect: 'follow'`, the
 * wrapper follows redirects itself (`redirect: 'manual'` per hop, the Fetch standard's rules:
 * 20 hops, 303 → GET, credentials dropped across origins) and judges every hop on its own
 * target, so a redirect never carries the marker off the allowlist (RDR-01, RDR-02). The
 * caller's `Request`, `Headers` and init are never mutated. A marker header the caller set is
 * kept as is on allowlisted hops in a lane decided in `open` trust (OUT-03); in one decided in
 * `edge` or `signed` trust, a marker that is not the lane's version (the client's, forwarded
 * with its headers) is replaced by the lane's (GW-01): to call another version, use a lane of
 * that version (`createLane`). A hop outside the allowlist loses the marker and the `gray`
 * member (`baggage`, `uberctx-gray`, `ot-baggage-gray`), whoever set them (I8). `fetchImpl`
 * defaults to `globalThis.fetch`, looked up at call time.
 *
 * The final response's `url` is the last hop's and `redirected` is true after a redirect. A
 * redirect that fetch would reject (a `Location` that is not HTTP(S), not a URL, or carries
 * credentials; more than 20 hops; any but a 303 while the body is a stream) rejects with a
 * `TypeError`, as fetch does. A `Request`'s body is kept for a 307/308 up to `maxReplayBytes`;
 * one still streaming when the redirect arrives counts as a stream (rejected at once, never
 * waited for). A string or a `URL` goes to the fetch as a URL and the caller's init, so another
 * fetch (npm undici's) takes it inside a lane as outside one. With `integrity`, the hops go
 * without it and the final response's body is checked against it as fetch checks it (a mismatch
 * or no body rejects with a `TypeError`). A `Request` of another fetch is rebuilt with its own
 * class and judged like any other; any other object with a `url` that the runtime's `Request`
 * refuses is refused (it would go on unjudged).
 *
 * @example
 * ```ts
 * // Cloudflare Worker, no AsyncLocalStorage needed: pass the lane explicitly
 * const outcome = await gray.decide(request);
 * const res = await withGray(fetch, { lane: outcome.lane })('https://orders.internal/v1');
 * ```
 */
export function withGray(fetchImpl?: undefined, options?: WithGrayOptions): FetchLike;
/** Wraps `fetchImpl` (its own type kept: `withGray(undici.fetch)` takes an `undici.Request`). */
export function withGray<F extends FetchImplLike>(fetchImpl: F, options?: WithGrayOptions): F;
/** A fetch that may be `undefined`: wraps it, or else the global `fetch`. */
export function withGray<F extends FetchImplLike>(
  fetchImpl: F | undefined,
  options?: WithGrayOptions,
): F | FetchLike;
export function withGray(
  fetchImplArg?: FetchImplLike,
  options: WithGrayOptions = {},
): FetchImplLike {
  // Your fetch gets your arguments (or a copy of `init`), whatever its own types call them.
  const fetchImpl = fetchImplArg as unknown as FetchLike | undefined;
  options ??= {}; // `null` from plain JS
  // `null` from plain JS is the default; anything else that is not a function fails here, not
  // on the first call.
  if (fetchImpl != null && typeof fetchImpl !== 'function')
    throw new GraylaneError('INVALID_OPTIONS', 'withGray: fetchImpl must be a function');
  const allow =
    options.allowHosts === undefined ? undefined : createAllowlist({ allow: options.allowHosts });
  const max = options.maxReplayBytes;
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 0))
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'withGray: maxReplayBytes must be a non-negative integer',
    );
  const grayFetch = async function grayFetch(
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> {
    const impl = fetchImpl ?? (globalThis.fetch as FetchLike);
    const lane = resolveLane(options.lane);
    if (!lane) return impl(input, init);
    let R = Request;
    let request: Request;
    try {
      request = new R(input, init);
    } catch {
      // I1: what fetch itself rejects, fetch reports. A `Request`, this runtime's or another
      // fetch's, is built with its own class: what that refuses, its fetch refuses too.
      const own = classOf(input);
      if (!own) return impl(input, init);
      request = new (R = own)(input, init);
    }
    // Followed here, every hop would be checked against the caller's integrity, a 3xx's own body
    // too: the hops go without it, and the final answer is checked as fetch would check it.
    const integrity = request.redirect === 'follow' ? integrityOf(request) : '';
    const hops = isRequest(input)
      ? requestHops(impl, R, request, input, init, options.maxReplayBytes, integrity !== '')
      : urlHops(impl, request, init, integrity !== '');
    const target = allow ?? lane.allow;
    if (request.redirect !== 'follow') {
      const headers = new Headers(hops.headers);
      applyLane(headers, request.url, lane, target);
      return hops.send(request.url, request.method, headers, FIRST, request.redirect);
    }
    try {
      const res = await follow(hops, request, lane, target);
      return integrity === '' ? res : await checkIntegrity(res, integrity, res.url || request.url);
    } finally {
      // Whatever ends the call (an answer, a rejection, the caller's abort), the copy stops.
      hops.replay.release();
    }
  };
  return grayFetch;
}

function resolveLane(lane: WithGrayOptions['lane']): GrayLane | undefined {
  try {
    if (lane instanceof GrayLane) return lane;
    if (typeof lane === 'function') return lane() ?? currentLane();
    return currentLane();
  } catch {
    return undefined;
  }
}

/** The first hop's body: the caller's, as given. */
const FIRST: unique symbol = Symbol('graylane.first');

/** How the hops of one call reach the fetch graylane wraps. */
interface Hops {
  /** The caller's headers, which the first hop and the redirects start from. */
  readonly headers: Headers;
  /** The body a 307/308 resends. */
  readonly replay: Replay;
  send(
    url: string,
    method: string,
    headers: Headers,
    body: NonNullable<RequestInit['body']> | null | typeof FIRST,
    redirect: Request['redirect'],
  ): Promise<Response>;
}

/**
 * A `Request` input: every hop is a `Request` of its class (a `Request` of another fetch to that
 * fetch), built from the caller's, so everything it holds goes on. Init fields a `Request`
 * cannot hold (Next's `next: { revalidate, tags }`, Workers' `cf`, Bun's `tls`, undici's
 * `dispatcher`) go with every call, as the caller gave them. `bare`: the first hop goes without
 * the caller's integrity (the later ones never carry it).
 */
function requestHops(
  impl: FetchLike,
  R: typeof Request,
  request: Request,
  input: string | URL | Request,
  init: RequestInit | undefined,
  maxReplayBytes: number | undefined,
  bare: boolean,
): Hops {
  const extras = extrasOf(init) as RequestInit | undefined;
  const call = (req: Request) => (extras === undefined ? impl(req) : impl(req, extras));
  const first: RequestInit = bare ? { integrity: '' } : {};
  return {
    // The init's headers replace the input's (Fetch), empty ones too: Bun's `Request` keeps the
    // input's under empty ones, which would count as the caller's and go on every hop.
    headers: new Headers(init?.headers ?? request.headers),
    replay: request.redirect === 'follow' ? planReplay(request, input, init, maxReplayBytes) : NONE,
    send(url, method, headers, body, redirect) {
      return call(
        sent(
          body === FIRST
            ? new R(request, keepPolicy(request, { ...first, headers, redirect }))
            : hopRequest(R, request, url, method, headers, body),
          headers,
        ),
      );
    },
  };
}

/**
 * A string or a `URL`: every hop goes to the fetch as a URL and the caller's init (headers and
 * redirect mode replaced; on a redirect the method and body too), never as this runtime's
 * `Request` — another fetch (npm undici's, a polyfill's) refuses a `Request` not of its own
 * class, so a call that works outside a lane would reject inside one. The body and its
 * `Content-Type` stay the fetch's own work, as when the caller calls it. `bare`: the hops go
 * without the caller's integrity.
 */
function urlHops(
  impl: FetchLike,
  request: Request,
  init: RequestInit | undefined,
  bare: boolean,
): Hops {
  const given = fieldsOf(init);
  if (bare) delete given.integrity;
  return {
    headers: new Headers(init?.headers),
    replay: request.redirect === 'follow' ? planInitReplay(init) : NONE,
    send(url, method, headers, body, redirect) {
      return impl(
        url,
        body === FIRST
          ? { ...given, headers, redirect }
          : { ...given, method, headers, body, redirect },
      );
    },
  };
}

/**
 * The init's fields as own fields: those fetch reads, by name, wherever they live (own,
 * inherited, getters, non-enumerable: fetch reads a dictionary member by name), and the ones a
 * `Request` cannot hold (Next's `next`, a `dispatcher`, Workers' `cf`: {@link extrasOf}).
 */
function fieldsOf(init: RequestInit | undefined): RequestInit {
  const out: Record<string, unknown> = { ...extrasOf(init) };
  const from = (init ?? {}) as Record<string, unknown>;
  for (const key of INIT_FIELDS) if (key in from) out[key] = from[key];
  return out;
}

/** The members of the Fetch standard's `RequestInit` (and `duplex`, `priority`). */
const INIT_FIELDS = [
  'body',
  'cache',
  'credentials',
  'duplex',
  'headers',
  'integrity',
  'keepalive',
  'method',
  'mode',
  'priority',
  'redirect',
  'referrer',
  'referrerPolicy',
  'signal',
  'window',
];

/** A `Request`, this runtime's or another fetch's ("[object Request]" with a string `url`). */
function isRequest(input: unknown): input is Request {
  const like = input as { url?: unknown; [Symbol.toStringTag]?: unknown } | null;
  return typeof like?.url === 'string' && like[Symbol.toStringTag] === 'Request';
}

async function follow(
  hops: Hops,
  request: Request,
  lane: GrayLane,
  allow: Allowlist | undefined,
): Promise<Response> {
  const headers = new Headers(hops.headers);
  applyLane(headers, request.url, lane, allow);
  let res = answer(await hops.send(request.url, request.method, headers, FIRST, 'manual'));
  let url = request.url;
  let method = request.method;
  let base = new Headers(hops.headers);
  for (let count = 0; ; count++) {
    const hop = nextHop(res, url, method);
    if (hop === undefined) return count === 0 ? res : markRedirected(res);
    discard(res);
    if (hop instanceof TypeError) throw hop;
    if (count >= MAX_REDIRECTS)
      throw new TypeError(`[graylane] fetch ${url}: more than ${MAX_REDIRECTS} redirects`);
    base = hopHeaders(base, url, hop);
    const next = new Headers(base);
    applyLane(next, hop.url, lane, allow);
    // The request has a body while the method is the caller's: once a redirect made it a GET,
    // it has none (Fetch: request body null), and a later 307/308 resends none either. Any
    // redirect but a 303 fails while it is a stream, even one that makes it a GET (step 11).
    const carried = method === request.method && request.body !== null;
    const taken = carried && res.status !== 303 ? await hops.replay.take() : undefined;
    if (taken === STREAM)
      throw new TypeError(
        `[graylane] fetch ${url}: a ${res.status} redirect: a stream body cannot be resent`,
      );
    if (carried && hop.keepBody && taken === undefined) {
      throw new TypeError(
        `[graylane] fetch ${url}: a ${res.status} redirect must resend a body that cannot be resent (past maxReplayBytes, or not copyable)`,
      );
    }
    const body = hop.keepBody ? taken : undefined;
    if (!hop.keepBody) hops.replay.release();
    res = answer(await hops.send(hop.url, hop.method, next, body ?? null, 'manual'));
    url = hop.url;
    method = hop.method;
  }
}

/**
 * What the wrapped fetch answered, when it is a response to judge for a redirect (a status and
 * headers); anything else is a broken `fetchImpl`, reported as such rather than as a `TypeError`
 * from reading it.
 */
function answer(res: Response): Response {
  if (typeof res?.headers?.get === 'function') return res;
  throw new GraylaneError('INVALID_OPTIONS', 'withGray: fetchImpl resolved to no Response');
}

/**
 * The Fetch standard sets `redirected` on a response reached through redirects; a wrapper that
 * followed them itself says so too (an own property over the prototype's getter). Runtimes
 * whose responses refuse it keep `false`.
 */
function markRedirected(res: Response): Response {
  try {
    Object.defineProperty(res, 'redirected', { value: true, configurable: true });
  } catch {
    // Documented: then `redirected` stays false.
  }
  return res;
}

/**
 * The init fields a `Request` cannot carry (own or inherited: not an attribute of `Request`),
 * or undefined when there are none.
 */
function extrasOf(init: RequestInit | undefined): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const key in init)
    if (!(key in Request.prototype)) (out ??= {})[key] = (init as Record<string, unknown>)[key];
  return out;
}

/**
 * A redirect hop's request: the caller's cache mode, credentials, keepalive, referrer policy and
 * signal kept (as fetch keeps them across redirects), the method, headers and body of this hop.
 * A runtime that refuses one of the kept fields gets the hop without it.
 */
function hopRequest(
  R: typeof Request,
  request: Request,
  url: string,
  method: string,
  headers: Headers,
  body: NonNullable<RequestInit['body']> | null,
): Request {
  const init: Record<string, unknown> = {
    method,
    headers,
    body,
    redirect: 'manual',
    signal: request.signal,
  };
  try {
    for (const key of HOP_FIELDS) init[key] = (request as unknown as Record<string, unknown>)[key];
    return new R(url, init);
  } catch {
    for (const key of HOP_FIELDS) delete init[key];
    return new R(url, init);
  }
}

const HOP_FIELDS = ['cache', 'credentials', 'keepalive', 'referrerPolicy'];

/**
 * The hop as built, holding exactly `headers` (plus the `Content-Type` a body brings): Bun's
 * `new Request(request, { headers })` keeps the request's own headers when `headers` is empty,
 * which would send the marker `applyLane` removed (I8). A runtime that does so gets the extra
 * names deleted (its `Request` headers are mutable); one that keeps them anyway is refused with
 * a `TypeError` rather than sent.
 */
function sent(hop: Request, headers: Headers): Request {
  if (exact(hop.headers, headers)) return hop;
  try {
    for (const name of [...hop.headers.keys()])
      if (!headers.has(name) && name !== 'content-type') hop.headers.delete(name);
    for (const [name, value] of headers)
      if (hop.headers.get(name) !== value) hop.headers.set(name, value);
  } catch {
    // An immutable `Request`: judged below.
  }
  if (exact(hop.headers, headers)) return hop;
  throw new TypeError(`[graylane] fetch ${hop.url}: this runtime's Request kept removed headers`);
}

function exact(built: Headers, wanted: Headers): boolean {
  for (const name of built.keys()) {
    const want = wanted.get(name);
    if ((want !== null || name !== 'content-type') && built.get(name) !== want) return false;
  }
  for (const name of wanted.keys()) if (!built.has(name)) return false;
  return true;
}

/**
 * The class of a `Request` this runtime's `Request` refuses ("[object Request]"): one of another
 * fetch (npm undici's, a polyfill's) is rebuilt with its own class, so that fetch takes every
 * hop, and judged per hop like any other. Any other object with a string `url` is refused: it
 * would go on unjudged (I8). Undefined for every other input.
 */
function classOf(input: unknown): typeof Request | undefined {
  const url = (input as { url?: unknown } | null)?.url;
  if (typeof url !== 'string') return undefined;
  if (!isRequest(input)) throw new TypeError(`[graylane] fetch ${url}: not a Request`);
  return input.constructor as typeof Request;
}

/**
 * `init` plus the request's referrer policy: a `Request` made from another with a non-empty init
 * starts with an empty policy (Fetch), which would drop the caller's `no-referrer`.
 */
function keepPolicy(request: Request, init: RequestInit): RequestInit {
  const policy = (request as unknown as { referrerPolicy?: unknown }).referrerPolicy;
  return typeof policy === 'string' && policy !== ''
    ? ({ ...init, referrerPolicy: policy } as RequestInit)
    : init;
}
