import { NextResponse, type NextRequest } from 'next/server';
import { setBaggageMember, removeBaggageMember } from '@graylane/core';
import {
  applyOutcome,
  createGraylane,
  type WebGraylane,
  type WebGraylaneOptions,
  type WebOutcome,
} from '@graylane/web';
import { DECISION_REQUEST_HEADER } from './constants.js';
import { formatDecision } from './decision.js';

/** Options of {@link createGrayProxy}: the Web engine's options plus an optional lane rewrite. */
export interface GrayProxyOptions extends WebGraylaneOptions {
  /**
   * Rewrites the request to a lane-specific route (e.g. `/beta/checkout`); return undefined to
   * serve the URL as requested. Errors are caught and mean "no rewrite".
   */
  readonly rewrite?:
    ((request: NextRequest, outcome: WebOutcome) => URL | string | undefined) | undefined;
}

/** The part of Next's `NextFetchEvent` the proxy uses. */
export interface ProxyEventLike {
  waitUntil(promise: Promise<unknown>): void;
}

/** A Next.js proxy/middleware function, with the engine attached. */
export type GrayProxy = ((
  request: NextRequest,
  event?: ProxyEventLike,
) => Promise<NextResponse>) & {
  /** The Web engine (store, `refresh()`, `stats()`). */
  readonly gray: WebGraylane;
};

/**
 * The Next.js proxy (Next 16 `proxy.ts`, Node runtime) or middleware (`middleware.ts`, edge or
 * Node runtime): decides with the Web engine and passes the request on with the lane set as
 * request headers — the marker header, a `gray` baggage member and the decision
 * (`x-graylane-decision`, always overwritten) — so every server component, route handler and
 * server action reads it with `getGrayVersion()`. Sticky cookies and the debug header go on the
 * response. In `edge` mode the client's marker cookie and baggage member are removed from what
 * the app sees (GW-02). Never throws into Next: any failure passes the request on unchanged.
 *
 * @example
 * ```ts
 * // proxy.ts (Next 16) — or middleware.ts with `export const middleware = …`
 * import { createGrayProxy } from '@graylane/next';
 * export const proxy = createGrayProxy({ config: { versions: ['stable', 'beta'], default: 'stable' }, sticky: true });
 * export const config = { matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'] };
 * ```
 */
export function createGrayProxy(options: GrayProxyOptions): GrayProxy {
  const gray = createGraylane(options);
  const header = (options.markers?.header ?? 'x-gray-id').toLowerCase();
  const baggageKey = options.markers?.baggage ?? 'gray';
  const edge = options.trust === 'edge';
  const proxy = async function graylaneProxy(
    request: NextRequest,
    event?: ProxyEventLike,
  ): Promise<NextResponse> {
    let response: NextResponse;
    let outcome: WebOutcome;
    try {
      outcome = await gray.decide(request, event ? { waitUntil: (p) => event.waitUntil(p) } : {});
      const seen = edge ? gray.stripCarriers(request) : request;
      const headers = laneHeaders(seen.headers, outcome, header, baggageKey);
      const target = safeRewrite(options.rewrite, request, outcome);
      response =
        target === undefined
          ? NextResponse.next({ request: { headers } })
          : NextResponse.rewrite(target, { request: { headers } });
    } catch {
      return NextResponse.next();
    }
    return applyOutcome(response, outcome) as NextResponse;
  };
  return Object.assign(proxy, { gray });
}

/** The request headers the app sees: the decided marker once, the decision, the baggage member. */
function laneHeaders(
  incoming: Headers,
  outcome: WebOutcome,
  header: string,
  baggageKey: string | false,
): Headers {
  const headers = new Headers(incoming);
  const version = outcome.decision.version;
  headers.set(header, version);
  headers.set(DECISION_REQUEST_HEADER, formatDecision(outcome.decision));
  const existing = headers.get('baggage') ?? undefined;
  const baggage =
    baggageKey === false
      ? removeBaggageMember(existing, 'gray')
      : setBaggageMember(existing, baggageKey, version);
  if (baggage === undefined) headers.delete('baggage');
  else headers.set('baggage', baggage);
  return headers;
}

function safeRewrite(
  rewrite: GrayProxyOptions['rewrite'],
  request: NextRequest,
  outcome: WebOutcome,
): URL | string | undefined {
  try {
    return rewrite?.(request, outcome);
  } catch {
    return undefined;
  }
}
