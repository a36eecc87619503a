import { createAllowlist, type AllowEntry, type Allowlist } from '@graylane/core';
import { GrayLane, currentLane } from '../context/storage.js';
import { MAX_REDIRECTS } from '../limits.js';
import { countOutbound } from '../metrics/outbound.js';
import { applyLane } from './plan.js';
import { hopHeaders, nextHop } from './redirect.js';

/** The fetch signature graylane wraps (the global `fetch`, a service binding's `fetch`, …). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

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
}

/**
 * Wraps a fetch so each hop to an allowlisted target carries the lane (`X-Gray-Id` and a
 * `gray` baggage member) and no other hop does. With the default `redirect: 'follow'`, the
 * wrapper follows redirects itself (`redirect: 'manual'` per hop, the Fetch standard's rules:
 * 20 hops, 303 → GET, credentials dropped across origins) and judges every hop on its own
 * target, so a redirect never carries the marker off the allowlist (RDR-01, RDR-02). The
 * caller's `Request`, `Headers` and init are never mutated; a marker header the caller set is
 * kept as is (OUT-03). `fetchImpl` defaults to `globalThis.fetch`, looked up at call time.
 *
 * The final response's `url` is the last hop's; `redirected` is false (the hops were ours).
 *
 * @example
 * ```ts
 * // Cloudflare Worker, no AsyncLocalStorage needed: pass the lane explicitly
 * const outcome = await gray.decide(request);
 * const res = await withGray(fetch, { lane: outcome.lane })('https://orders.internal/v1');
 * ```
 */
export function withGray<F extends FetchLike>(fetchImpl?: F, options: WithGrayOptions = {}): F {
  const allow =
    options.allowHosts === undefined ? undefined : createAllowlist({ allow: options.allowHosts });
  const grayFetch = function grayFetch(
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> {
    const impl = fetchImpl ?? (globalThis.fetch as FetchLike);
    const lane = resolveLane(options.lane);
    if (!lane) return impl(input, init);
    let request: Request;
    try {
      request = new Request(input, init);
    } catch {
      // I1: what fetch itself rejects, fetch reports.
      return impl(input, init);
    }
    if (request.headers.has(lane.header)) {
      countOutbound('skipped_caller');
      return impl(request);
    }
    return send(impl, request, lane, allow ?? lane.allow);
  };
  return grayFetch as F;
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

async function send(
  impl: FetchLike,
  request: Request,
  lane: GrayLane,
  allow: Allowlist | undefined,
): Promise<Response> {
  const headers = new Headers(request.headers);
  applyLane(headers, request.url, lane, allow);
  if (request.redirect !== 'follow') return impl(new Request(request, { headers }));
  // A spare copy of the body for 307/308, which resend it (the Fetch standard keeps the source too).
  let spare = request.body === null ? undefined : request.clone();
  let res = await impl(new Request(request, { headers, redirect: 'manual' }));
  let url = request.url;
  let method = request.method;
  let base = new Headers(request.headers);
  for (let hops = 0; ; hops++) {
    const hop = nextHop(res, url, method);
    if (!hop) return res;
    if (hops >= MAX_REDIRECTS) {
      await discard(res);
      throw new TypeError(`[graylane] fetch ${url}: more than ${MAX_REDIRECTS} redirects`);
    }
    if (!/^https?:$/.test(new URL(hop.url).protocol)) return res;
    await discard(res);
    base = hopHeaders(base, url, hop);
    const next = new Headers(base);
    applyLane(next, hop.url, lane, allow);
    // Tee the spare before sending it, so a later 307/308 can resend the body again.
    const body = hop.keepBody ? spare : undefined;
    spare = body?.body ? body.clone() : undefined;
    res = await impl(
      new Request(hop.url, {
        method: hop.method,
        headers: next,
        body: body?.body ?? null,
        redirect: 'manual',
        signal: request.signal,
        ...(body?.body ? { duplex: 'half' } : {}),
      } as RequestInit),
    );
    url = hop.url;
    method = hop.method;
  }
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // Nothing to free.
  }
}
