import { ensureBaggageDedupe } from './baggage-dedupe.js';
import { compileOutbound, type OutboundOptions } from './options.js';
import { planInjection } from './plan.js';

/** The fetch signature graylane wraps (the global `fetch`, undici's `fetch`, node-fetch …). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * Wraps a fetch so requests to allowlisted hosts carry the current request's marker
 * (`X-Gray-Id` and a `gray` baggage member). The caller's `Headers`, init object and `Request`
 * are never mutated: a copy is passed on. A header the caller set is kept as is. `fetchImpl`
 * defaults to `globalThis.fetch`, looked up at call time, not at wrap time.
 *
 * @example
 * ```ts
 * const grayFetch = withGray(fetch, { allowHosts: ['orders.internal:8080'] });
 * const res = await grayFetch('http://orders.internal:8080/v1/orders');
 * ```
 */
export function withGray<F extends FetchLike>(fetchImpl?: F, options?: OutboundOptions): F {
  const allow = compileOutbound(options);
  const grayFetch = function grayFetch(
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> {
    const impl = fetchImpl ?? (globalThis.fetch as FetchLike);
    const next = injectInit(input, init, allow);
    if (next !== undefined) ensureBaggageDedupe();
    return next === undefined ? impl(input, init) : impl(input, next);
  };
  return grayFetch as F;
}

/** @internal Returns a new init with the marker added, or undefined to leave the call untouched. */
export function injectInit(
  input: string | URL | Request,
  init: RequestInit | undefined,
  allow: ReturnType<typeof compileOutbound>,
): RequestInit | undefined {
  try {
    const isRequest = typeof Request === 'function' && input instanceof Request;
    const url = isRequest ? input.url : String(input);
    const headers = new Headers(init?.headers ?? (isRequest ? input.headers : undefined));
    const plan = planInjection(
      url,
      {
        has: (name) => headers.has(name),
        get: (name) => headers.get(name) ?? undefined,
      },
      allow,
    );
    if (!plan) return undefined;
    headers.set(plan.header, plan.version);
    if (plan.baggage !== undefined) headers.set('baggage', plan.baggage);
    return { ...init, headers };
  } catch {
    // I1: a request we cannot read is sent exactly as the caller wrote it.
    return undefined;
  }
}
