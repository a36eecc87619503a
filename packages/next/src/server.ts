import { headers } from 'next/headers.js';
import { GraylaneError, type AllowEntry, type Decision } from '@graylane/core';
import { createLane, DEBUG_HEADER, withGray, type FetchLike } from '@graylane/web';
import { DECISION_REQUEST_HEADER, META_NAME } from './constants.js';
import { DECISION_KEY_ENV, hasSharedKey, openDecision, type OpenFailure } from './seal.js';

/**
 * The decision the proxy made for the current request (App Router: server components, route
 * handlers, server actions), read from the request headers — only when the proxy's seal on it
 * verifies, so a decision header a client sent (on a path outside the matcher, or when
 * the proxy was bypassed) is never trusted. Undefined where the proxy did not run, or outside a
 * request (a script, a test). Next's own signals pass through (a page that reads it is rendered
 * per request, not prerendered), and so do the errors Next raises where request data may not be
 * read — inside `unstable_cache` or `'use cache'`, in a page's `after()`, in
 * `generateStaticParams`, under `dynamic = 'error'`: there the lane would be frozen into a cache
 * entry every lane shares, so the app sees Next's error as it would from `headers()`.
 *
 * @example
 * ```ts
 * const decision = await getGrayDecision();
 * console.log(decision?.version, decision?.reason);
 * ```
 */
export async function getGrayDecision(): Promise<Decision | undefined> {
  let request: object;
  let value: string | null;
  try {
    const h = await headers();
    request = h;
    value = h.get(DECISION_REQUEST_HEADER);
  } catch (err) {
    rethrowNextSignal(err);
    if (outsideRequest(err)) return undefined;
    throw err; // request data read where Next forbids it (a cache, after(), build time)
  }
  const known = verified.get(request);
  if (known !== undefined && known.value === value) return known.decision;
  const opened = await openDecision(value);
  if ('decision' in opened) {
    if (value !== null) verified.set(request, { value, decision: opened.decision });
    return opened.decision;
  }
  warnOnce(opened.failure);
  return undefined;
}

/**
 * Rethrows what `headers()` throws to tell Next something, not to fail: while `next build`
 * prerenders a page, "this page reads the request, render it per request" (and, with
 * `cacheComponents`, "stop here"). Swallowed, the page was prerendered without a request —
 * `getGrayVersion()` then failed the build with NO_CONTEXT. Those signals carry a `digest`
 * (`DYNAMIC_SERVER_USAGE`, `HANGING_PROMISE_REJECTION`, `NEXT_PRERENDER_INTERRUPTED`, … — what
 * Next's `unstable_rethrow` tests, which is not imported: `next/navigation` breaks an edge route
 * that imports this package) or are React's postpone; the test follows `cause`. "Outside a
 * request" (a script, a test) is a plain error: undefined there.
 */
function rethrowNextSignal(err: unknown, depth = 0): void {
  if (typeof err !== 'object' || err === null || depth > 8) return;
  const e = err as {
    readonly digest?: unknown;
    readonly $$typeof?: unknown;
    readonly cause?: unknown;
  };
  if (typeof e.digest === 'string' || e.$$typeof === REACT_POSTPONE) throw err;
  rethrowNextSignal(e.cause, depth + 1);
}

const REACT_POSTPONE = Symbol.for('react.postpone');

/**
 * What `headers()` throws where there is no request at all: "`headers` was called outside a
 * request scope" (Next 14.1–16), "Invariant: headers() expects to have requestAsyncStorage, none
 * available" (Next 13–14.0). Any other error says the request exists but may not be read here.
 */
function outsideRequest(err: unknown): boolean {
  const message = (err as { readonly message?: unknown } | null)?.message;
  return (
    typeof message === 'string' &&
    (message.includes('outside a request scope') ||
      message.includes('expects to have requestAsyncStorage'))
  );
}

/**
 * Decisions verified on a request, by its headers object (Next keeps one per request; it is gone
 * with the request). The seal is checked when a request first reads it, so a request that
 * streams for longer than the seal's life (SSE, a long export) keeps its lane to the end, while a
 * captured header replayed on a later request still expires after DECISION_SEAL_TTL_SECONDS.
 */
const verified = new WeakMap<object, { readonly value: string; readonly decision: Decision }>();

const WARNED = Symbol.for('@graylane/next.warned-unverified');

/**
 * A decision header that does not verify is ignored (I3) and reported once per process: it is
 * either forged, or the proxy and the app do not share a key (edge-runtime middleware without
 * `GRAYLANE_DECISION_KEY`). Once, so a client cannot flood the log.
 */
function warnOnce(failure: OpenFailure): void {
  if (failure === 'absent') return;
  const g = globalThis as { [WARNED]?: boolean; EdgeRuntime?: unknown };
  if (g[WARNED]) return;
  g[WARNED] = true;
  // A page or route handler on the edge runtime is a realm of its own even inside `next start`:
  // without the shared key it can never verify what a Node.js proxy sealed. Say that, not "a
  // client or the middleware".
  const here =
    typeof g.EdgeRuntime === 'string' && !hasSharedKey()
      ? ` This code runs on the edge runtime, a realm apart from the proxy even in one process: it needs ${DECISION_KEY_ENV}, the same secret as the proxy/middleware.`
      : '';
  console.warn(
    `[graylane] ignored an x-graylane-decision request header that did not verify (${failure}): sent by a client, or the proxy/middleware uses another key — set ${DECISION_KEY_ENV} for both when the middleware, a page or a route handler runs on the edge runtime, or the proxy apart from the app.${here}`,
  );
}

/**
 * The version of the current request, or undefined where the proxy did not run.
 *
 * @example
 * ```ts
 * const version = (await tryGetGrayVersion()) ?? 'stable';
 * ```
 */
export async function tryGetGrayVersion(): Promise<string | undefined> {
  return (await getGrayDecision())?.version;
}

/**
 * The version of the current request. Rejects with `GraylaneError('NO_CONTEXT')` when the proxy
 * did not decide this request (check the proxy's `matcher`).
 *
 * @example
 * ```tsx
 * export default async function Page() {
 *   return (await getGrayVersion()) === 'beta' ? <NewCheckout /> : <Checkout />;
 * }
 * ```
 */
export async function getGrayVersion(): Promise<string> {
  const version = await tryGetGrayVersion();
  if (version === undefined) {
    // Next hands a route rendered without its request (`dynamic = 'force-static'`) headers
    // with nothing in them, not even `host`: say that, not "check the matcher" (review 145 D2).
    const empty = await Promise.resolve()
      .then(() => headers())
      .then(
        (h) => {
          let any = false;
          h.forEach(() => (any = true));
          return !any;
        },
        () => false,
      );
    throw new GraylaneError(
      'NO_CONTEXT',
      empty
        ? "getGrayVersion(): this route renders without its request (export const dynamic = 'force-static'), so it has no lane: every visitor would get the one rendered at build time. Drop force-static where the lane is read, or read it in a dynamic route."
        : `getGrayVersion(): no verified graylane decision on this request; is the path covered by the proxy/middleware matcher (and, when the middleware or this page/route handler runs on the edge runtime, is ${DECISION_KEY_ENV} set for both)?`,
    );
  }
  return version;
}

/** Options of {@link createGrayFetch}. */
export interface GrayFetchOptions {
  /** Targets that receive the marker (exact origins, hosts or anchored RegExps). Default: none. */
  readonly allowHosts: readonly AllowEntry[];
  /** Outbound header name. Default `x-gray-id`. */
  readonly header?: string;
  /** Outbound baggage key, or false. Default `gray`. */
  readonly baggageKey?: string | false;
  /** fetch to wrap. Default `globalThis.fetch` (Next's patched fetch), looked up per call. */
  readonly fetch?: FetchLike;
}

/**
 * A fetch for server code that carries the current request's lane to allowlisted targets —
 * per hop, redirects included (RDR-01) — reading the decision the proxy made. Outside a request,
 * or where the proxy did not run, it is a plain fetch; where Next forbids reading the request
 * (inside `unstable_cache`, `'use cache'`, a page's `after()`) it rejects with Next's error, as
 * {@link getGrayDecision} does — read the version outside and pass it in. Either way the sealed decision header
 * never goes out, even in headers the caller forwards (`headers: await headers()`).
 *
 * @example
 * ```ts
 * export const grayFetch = createGrayFetch({ allowHosts: ['orders.internal:8080'] });
 * const orders = await (await grayFetch('http://orders.internal:8080/v1/orders')).json();
 * ```
 */
export function createGrayFetch(options: GrayFetchOptions): FetchLike {
  if (!Array.isArray(options?.allowHosts))
    throw new GraylaneError('INVALID_OPTIONS', 'createGrayFetch: allowHosts is required');
  const laneOptions = {
    allowHosts: options.allowHosts,
    ...(options.header === undefined ? {} : { header: options.header }),
    ...(options.baggageKey === undefined ? {} : { baggageKey: options.baggageKey }),
  };
  // Validates allowHosts once, at construction.
  createLane('stable', laneOptions);
  return async function grayFetch(input, init) {
    const decision = await getGrayDecision();
    const lane = decision ? createLane(decision, laneOptions) : undefined;
    const fetchImpl = options.fetch ?? (globalThis.fetch as FetchLike);
    const [target, sent] = withoutOwnHeaders(input, init);
    return lane ? withGray(fetchImpl, { lane })(target, sent) : fetchImpl(target, sent);
  };
}

/**
 * The call without the headers that are this app's own: the sealed decision (the lane in clear
 * text and a seal that replays for minutes), and what Next copies from the proxy's response into
 * the request's headers — `Set-Cookie` (the sticky cookies: a signed token for 30 days in
 * `signed` mode), the debug header and Next's internal `x-middleware-*` (the cookies' hand-over).
 * A caller forwarding the request's own headers (`headers: await headers()`) would send them on
 * to any host, allowlisted or not, and along every redirect (I8). The caller's objects are never
 * mutated: `init` is copied with its headers filtered (every field kept, Next's `next`
 * included); a `Request` that holds one gets filtered headers in `init`, its body and referrer
 * policy kept. Never throws: what fetch would reject goes on as given.
 */
function withoutOwnHeaders(
  input: string | URL | Request,
  init: RequestInit | undefined,
): [string | URL | Request, RequestInit | undefined] {
  try {
    if (init?.headers !== undefined && init.headers !== null) {
      const headers = withoutOwn(new Headers(init.headers));
      return headers === undefined ? [input, init] : [input, copyInit(init, headers, undefined)];
    }
    // A Request, this runtime's or another fetch's (its own Headers class).
    const own = (input as { headers?: { forEach?: unknown } } | null)?.headers;
    if (typeof own?.forEach !== 'function') return [input, init];
    const headers = withoutOwn(new Headers(own as Headers));
    if (headers === undefined) return [input, init];
    const policy = (input as { referrerPolicy?: unknown }).referrerPolicy;
    return [input, copyInit(init, headers, typeof policy === 'string' ? policy : undefined)];
  } catch {
    return [input, init];
  }
}

/** `headers` without the app's own headers (mutated), or undefined when it held none. */
function withoutOwn(headers: Headers): Headers | undefined {
  const names: string[] = [];
  headers.forEach((_value, name) => {
    if (ownHeader(name)) names.push(name);
  });
  // Set-Cookie is not listed by forEach in every runtime's Headers (it may be joined apart).
  if (headers.has('set-cookie') && !names.includes('set-cookie')) names.push('set-cookie');
  if (names.length === 0) return undefined;
  for (const name of names) headers.delete(name);
  return headers;
}

/** A lower-case header name that must never leave the app as a request header. */
function ownHeader(name: string): boolean {
  return (
    name === DECISION_REQUEST_HEADER ||
    name === 'set-cookie' ||
    name === DEBUG_HEADER_NAME ||
    name.startsWith('x-middleware-')
  );
}

/** The debug response header (`X-Gray-Decision`), as Headers lists it. */
const DEBUG_HEADER_NAME = DEBUG_HEADER.toLowerCase();

/** `init` (own and inherited fields, as fetch reads them) with `headers`. */
function copyInit(
  init: RequestInit | undefined,
  headers: Headers,
  referrerPolicy: string | undefined,
): RequestInit {
  const copy: Record<string, unknown> = {};
  for (const key in init) copy[key] = (init as Record<string, unknown>)[key];
  // A Request given with a non-empty init starts with an empty referrer policy (Fetch).
  if (referrerPolicy && !('referrerPolicy' in copy)) copy['referrerPolicy'] = referrerPolicy;
  copy['headers'] = headers;
  return copy as RequestInit;
}

/**
 * The `<meta name="graylane-version">` tag for `generateMetadata`. Empty where the proxy did not
 * run.
 *
 * @deprecated Render `<GrayMeta />` in the root layout instead. Next 15.2+ streams the metadata of
 * a dynamic page (this one reads the request, so it always is) into `<body>` for browsers once it
 * resolves — whenever it resolves after the first chunk of HTML — and the browser SDK reads the
 * hand-off from `<head>` only (a body meta may be content the page echoes). Only the user agents
 * `htmlLimitedBots` matches (bots, by default) get blocking metadata in `<head>`.
 *
 * @example
 * ```ts
 * export async function generateMetadata() {
 *   return { other: await grayMetadata() };
 * }
 * ```
 */
export async function grayMetadata(): Promise<Record<string, string>> {
  const version = await tryGetGrayVersion();
  return version === undefined ? {} : { [META_NAME]: version };
}
