import { ensureHopGuard } from './hop-guard.js';
import { applyHop, headersOps } from './hop-headers.js';
import { globalDispatcher, hopDispatcher, type DispatcherLike } from './hop-dispatcher.js';
import { compileOutbound, type OutboundOptions } from './options.js';
import { judgeHop, planCall, type HopPlan } from './plan.js';
import { runNoted } from './state.js';
import { fetchTarget, isRequestLike } from './targets.js';

/** The signature of the global `fetch`: what `withGray()` returns when given no fetch. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * Any fetch `withGray` wraps, structurally: the global `fetch`, undici's `fetch` (6, 7 and 8,
 * each with its own `Request`, `RequestInit` and `Response` types), node-fetch, a test double.
 * Typed loosely on purpose — no `Request` type fits them all — since `withGray` returns your
 * fetch's own type: graylane calls it with your `input` as given, and your `init` or a copy of
 * it with `headers` (a `Headers`) and, for undici, `dispatcher` set.
 */
export type FetchImplLike = (input: string, init?: undefined) => Promise<unknown>;

/**
 * `withGray()`, `withGray(undefined, options)`: wraps the global `fetch`, looked up at call time,
 * judged per hop like any fetch given (see the next signature).
 */
export function withGray(fetchImpl?: undefined, options?: OutboundOptions): FetchLike;
/**
 * Wraps a fetch so requests to allowlisted hosts carry the current request's marker
 * (`X-Gray-Id` and a `gray` baggage member), judged **per hop**: when fetch follows a redirect,
 * each hop gets the marker only if its own target is allowlisted (RDR-01/02). The caller's
 * `Headers`, init object and `Request` are never mutated; a header the caller set is kept.
 * `input` may be a string, a `URL` or a `Request` of any fetch implementation (`undici.Request`
 * too). `fetchImpl` defaults to `globalThis.fetch`, looked up at call time, not at wrap time.
 * The wrapper has your fetch's own type (`withGray(undici.fetch)` takes an `undici.Request`).
 *
 * Per-hop judging uses undici's `dispatcher` (Node's global fetch and `undici.fetch`; your own
 * `init.dispatcher` is wrapped, not replaced). Another fetch implementation (node-fetch) ignores
 * that dispatcher: only its first request is judged, and the redirects it follows carry whatever
 * headers it copies — node-fetch copies the marker to every hop, allowlisted or not. Add
 * `installGlobal()` (it judges each `http`/`https` hop) or use `redirect: 'manual'` there.
 *
 * @example
 * ```ts
 * const grayFetch = withGray(fetch, { allowHosts: ['orders.internal:8080'] });
 * const res = await grayFetch('http://orders.internal:8080/v1/orders');
 * ```
 */
export function withGray<F extends FetchImplLike>(fetchImpl: F, options?: OutboundOptions): F;
/** A fetch that may be `undefined`: wraps it, or else the global `fetch`. */
export function withGray<F extends FetchImplLike>(
  fetchImpl: F | undefined,
  options?: OutboundOptions,
): F | FetchLike;
export function withGray(fetchImpl?: FetchImplLike, options?: OutboundOptions): FetchImplLike {
  const allow = compileOutbound(options);
  const grayFetch = function grayFetch(
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> {
    // Your fetch gets your arguments (or a copy of `init`), whatever its own types call them.
    const impl = (fetchImpl ?? globalThis.fetch) as unknown as FetchLike;
    const call = prepareCall(input, init, allow);
    if (call === undefined) return impl(input, init);
    ensureHopGuard();
    if (call.noted === undefined) return impl(input, call.init);
    return runNoted(call.noted, () => impl(input, call.init));
  };
  return grayFetch;
}

type HeadersSource = ConstructorParameters<typeof Headers>[0];

/**
 * @internal Plans one fetch call: the init to send (hop 1 judged in its headers, so a fetch that
 * never dispatches through undici still gets it) and, for the later hops, either a per-hop
 * dispatcher or — for a `Request` input whose own dispatcher cannot be read, which a dispatcher
 * in `init` would replace — a plan for the undici listener (`noted`), which removes the marker
 * from hops outside the allowlist. Returns undefined to send the call untouched. Never throws.
 */
export function prepareCall(
  input: unknown,
  init: RequestInit | undefined,
  allow: ReturnType<typeof compileOutbound>,
): { init: RequestInit; noted: HopPlan | undefined } | undefined {
  try {
    const request = isRequestLike(input) ? input : undefined;
    const headers = new Headers((init?.headers ?? request?.headers) as HeadersSource);
    const plan = planCall(allow, headers);
    if (plan === undefined) return undefined;
    applyHop(plan, judgeHop(plan, fetchTarget(input)), headersOps(headers));
    const fields = readInit(init);
    const own = fields['dispatcher'] as DispatcherLike | undefined;
    if (own !== undefined || (request === undefined && globalDispatcher() !== undefined)) {
      const next = { ...fields, headers, dispatcher: hopDispatcher(plan, own) };
      return { init: next as RequestInit, noted: undefined };
    }
    return { init: { ...fields, headers } as RequestInit, noted: plan };
  } catch {
    // I1: a request we cannot read is sent exactly as the caller wrote it.
    return undefined;
  }
}

/** The members of `RequestInit` (and undici's `dispatcher`), read as fetch reads them. */
const INIT_MEMBERS = [
  'method',
  'headers',
  'body',
  'referrer',
  'referrerPolicy',
  'mode',
  'credentials',
  'cache',
  'redirect',
  'integrity',
  'keepalive',
  'signal',
  'duplex',
  'priority',
  'window',
  'dispatcher',
] as const;

/**
 * @internal `init` as fetch reads it, in a plain object graylane can add to. fetch reads its init
 * as a WebIDL dictionary: every member by property access, so a getter, an inherited field and a
 * `Request` passed as the init all count; a spread would keep only own enumerable fields (a POST
 * sent as a GET, its body lost). Other enumerable fields, own or inherited, are kept too (other
 * fetch implementations' options, node-fetch's `agent`). A getter that throws is the caller's
 * error: the call is then sent as written.
 */
export function readInit(init: RequestInit | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof init !== 'object' || init === null) return out;
  const source = init as Record<string, unknown>;
  for (const key in source) out[key] = source[key];
  for (const key of INIT_MEMBERS) {
    const value = source[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
