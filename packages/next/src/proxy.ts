import { NextResponse, type NextRequest } from 'next/server.js';
import {
  createGraylane,
  DEBUG_HEADER,
  editedHeaders,
  type WebGraylane,
  type WebGraylaneOptions,
  type WebOutcome,
} from '@graylane/web';
import { applyQueryEdit, GraylaneError, TARGETED_CACHE_CONTROL_FIELDS } from '@graylane/core';
import { DECISION_REQUEST_HEADER } from './constants.js';
import { laneHeaders, withoutDecision } from './lane-headers.js';
import { rewriteOf, rewritesByLane, type LaneRewrite } from './lane-rewrite.js';
import { markerFreeUrl, redirectTo } from './marker-redirect.js';
import { MIDDLEWARE_SET_COOKIE, middlewareSetCookie } from './middleware-cookies.js';
import { DECISION_KEY_ENV, decisionKey, hasSharedKey } from './seal.js';

/** Options of {@link createGrayProxy}: the Web engine's options plus an optional lane rewrite. */
export interface GrayProxyOptions extends WebGraylaneOptions {
  /**
   * Rewrites the request to a lane-specific route (e.g. `/beta/checkout`); return undefined to
   * serve the URL as requested. Errors are caught and mean "no rewrite". A rewrite to another
   * origin gets the marker only when that origin is in `allowHosts`, and never the decision.
   * Keep it a pure function of its arguments: the proxy also calls it with the decision set to
   * each other configured version, and a URL it rewrites for any version is answered
   * `Cache-Control: private, no-store` for every version (STK-06: one lane's page under a
   * shared URL must not reach a shared cache).
   */
  readonly rewrite?: LaneRewrite | undefined;
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
 * request headers — the marker header, a `gray` baggage member and the sealed decision
 * (`x-graylane-decision`, signed by the proxy and verified by `getGrayVersion()`, so a client
 * cannot forge it on any path) — for server components, route handlers and server actions.
 * Sticky cookies and the debug header go on the response. In `edge` mode the client's marker
 * header, cookie, baggage member and `?gray=` are removed from what the app sees (GW-02). A
 * request whose URL carries a query marker the decision removes (in `edge` mode, `gray` under
 * any spelling) is answered with a 307 to the same URL without it, any method: Next gives a
 * route handler the URL the client sent even after a rewrite. Never throws into Next: on a
 * failure the request goes on without any lane header.
 *
 * Middleware on the edge runtime, or a proxy deployed apart from the app, needs
 * `GRAYLANE_DECISION_KEY` (a secret of ≥ 16 bytes) in both environments. Throws
 * `INVALID_OPTIONS` at construction on bad options or a key that is too short.
 *
 * @example
 * ```ts
 * // proxy.ts (Next 16) — or middleware.ts with `export const middleware = …`
 * import { createGrayProxy } from '@graylane/next';
 * export const proxy = createGrayProxy({ config: { versions: ['stable', 'beta'], default: 'stable' }, sticky: true });
 * export const config = { matcher: ['/', '/((?!_next/static|_next/image|favicon.ico).*)'] };
 * ```
 */
export function createGrayProxy(options: GrayProxyOptions): GrayProxy {
  if (typeof options !== 'object' || options === null)
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'createGrayProxy: options are required ({ config })',
    );
  const gray = createGraylane(options);
  decisionKey(); // a GRAYLANE_DECISION_KEY that is too short fails here, at startup
  warnWithoutSharedKey();
  const names = {
    header: (options.markers?.header ?? 'x-gray-id').toLowerCase(),
    baggage: options.markers?.baggage ?? 'gray',
  };
  const proxy = async function graylaneProxy(
    request: NextRequest,
    event?: ProxyEventLike,
  ): Promise<NextResponse> {
    let response: NextResponse;
    let outcome: WebOutcome;
    try {
      outcome = await gray.decide(request, event ? { waitUntil: (p) => event.waitUntil(p) } : {});
      // A query marker the decision removes leaves by a redirect, not a rewrite: Next hands a
      // route handler (and a client component) the URL the client sent (markerFreeUrl).
      const clean = markerFreeUrl(request, outcome.edits?.query);
      if (clean !== undefined)
        return redirectTo(clean, responseHeaders(outcome, true, false, false));
      // Core's edits, as Node applies them, in every mode (GW-01/02): the carriers the decision
      // did not keep, the bucket header, the query marker (on whatever URL the request goes to).
      let seen = editedHeaders(request.headers, outcome.edits);
      const chosen = rewriteOf(options.rewrite, request, outcome);
      const versions = gray.store.get().config.versions;
      const byLane = rewritesByLane(options.rewrite, request, outcome, chosen, versions);
      const to = withQueryEdit(chosen, request, outcome);
      const external = to !== undefined && to.origin !== request.nextUrl.origin;
      const carry = !external || (outcome.lane.allow?.allows(to.href) ?? false);
      let target = to;
      if (!carry && target !== undefined) {
        // Another origin off the allowlist gets none of the lane's carriers (I8): not the
        // marker cookie pairs nor a `?gray=` the rewrite copied, which core keeps for this app
        // when they say the decided version, as well as no marker header or baggage member.
        const stripped = gray.stripCarriers(new Request(target, { headers: seen }));
        seen = new Headers(stripped.headers);
        target = new URL(stripped.url);
      }
      const headers = await laneHeaders(seen, outcome.decision, names, {
        marker: carry,
        decision: !external,
      });
      // The sticky cookies and the debug header go in at construction: NextResponse reads its
      // cookies once, there, and every later `response.cookies.set()` (an app wrapping this
      // proxy) rewrites Set-Cookie from what it read — cookies appended afterwards were lost.
      // Same for the hand-over to `cookies()`: an app's later `set()` rewrites it from the
      // same cookies, its own same-name cookie replacing graylane's. Next copies every header
      // of this response into the request it forwards to an external rewrite (and the
      // hand-over with them), so another origin never gets the hand-over, and one off the
      // allowlist gets none of them: that response sets no cookie (review 157 D1).
      const init = {
        request: { headers },
        headers: responseHeaders(outcome, carry, !external, byLane),
      };
      response =
        target === undefined ? NextResponse.next(init) : NextResponse.rewrite(target, init);
    } catch {
      return passOn(request, options.trust === 'edge' ? gray : undefined);
    }
    return response;
  };
  return Object.assign(proxy, { gray });
}

/**
 * `Cache-Control` of a response no shared cache may store (STK-06): one carrying sticky cookies,
 * or one whose content the `rewrite` option chose by lane. The proxy cannot read the page's
 * directives, so none is kept (core's `privateCacheControl` is for a known header): the
 * strictest form.
 */
const STICKY_CACHE_CONTROL = 'private, no-store';

/** A targeted field (RFC 9213) of such a response: see core's `targetedNoStore`. */
const STICKY_TARGETED = 'no-store';

/**
 * The response headers graylane writes: `private, no-store` where a shared cache must not store
 * the response (the sticky cookies, or `byLane`: a URL the `rewrite` option sends elsewhere for
 * some version); the sticky cookies and the debug header — only where the request may get them
 * (`carry`: Next copies them into what it forwards to another origin) — and, for a request served
 * here (`handOver`), Next's hand-over of those cookies to `cookies()` on this same request, as
 * Next does for `response.cookies.set()`.
 */
function responseHeaders(
  outcome: WebOutcome,
  carry: boolean,
  handOver: boolean,
  byLane: boolean,
): Headers {
  const out = new Headers();
  // STK-06: the page's own `Cache-Control` (`s-maxage=31536000` static, `s-maxage=60, swr` ISR)
  // would let a CDN keyed on the URL store a visitor's sticky cookies, or one lane's page under
  // a URL every lane requests (a returning visitor's cookie, a header or baggage marker, a
  // split: nothing in the URL says the lane), and hand them to everyone. Next sets its own only
  // where the response has none (send-payload's `sendRenderResult`, app-route, a route handler's
  // `Response` headers in send-response), and the proxy's response headers are on the response
  // before the page renders: this one holds on every response served here. A CDN reads its
  // targeted field (`CDN-Cache-Control`, `Surrogate-Control`…) instead of `Cache-Control`
  // (RFC 9213): each one CDNs document says `no-store` too. Next applies the proxy's headers
  // after next.config `headers()` and a route handler's only where absent. On a rewrite to
  // another origin, that origin's own headers replace these (Next's proxying): a lane rewrite
  // there still sends them, the only say graylane has; they name no lane.
  const cookies = carry && outcome.setCookies.length > 0;
  if (cookies || byLane) {
    out.set('cache-control', STICKY_CACHE_CONTROL);
    for (const name of TARGETED_CACHE_CONTROL_FIELDS) out.set(name, STICKY_TARGETED);
  }
  if (!carry) return out;
  for (const cookie of outcome.setCookies) out.append('set-cookie', cookie);
  const handed = handOver ? middlewareSetCookie(outcome.setCookies) : undefined;
  if (handed !== undefined) out.set(MIDDLEWARE_SET_COOKIE, handed);
  if (outcome.debugHeader !== undefined) out.set(DEBUG_HEADER, outcome.debugHeader);
  return out;
}

/**
 * Where the request goes: the `rewrite` option's target (`chosen`), without the query marker
 * core's edits remove (any origin: a client's `?gray=` copied into a rewrite never travels on),
 * byte for byte otherwise. Undefined: served as requested.
 */
function withQueryEdit(
  chosen: URL | undefined,
  request: NextRequest,
  outcome: WebOutcome,
): URL | undefined {
  const query = outcome.edits?.query;
  if (query === undefined) return chosen;
  const from = (chosen ?? request.nextUrl).href;
  const to = applyQueryEdit(from, query);
  return to === from ? chosen : new URL(to);
}

/**
 * The failure path: the request goes on without any lane, minus any decision header a client
 * sent. In `edge` mode (`strip`: the engine) it goes on without the client's carriers too, as
 * the Web engine's own failure path does (GW-02): the marker header, every marker cookie pair,
 * the `gray` baggage member and, by a redirect to the same URL without it, `?gray=`.
 */
function passOn(request: NextRequest, strip?: WebGraylane): NextResponse {
  if (strip !== undefined) {
    try {
      // Headers and URL only: the body stays the request's own.
      const url = request.url;
      const stripped = strip.stripCarriers(new Request(url, { headers: request.headers }));
      if (stripped.url !== url) return redirectTo(stripped.url);
      return NextResponse.next({ request: { headers: withoutDecision(stripped.headers) } });
    } catch {
      // Below: at least the client's decision header goes.
    }
  }
  try {
    if (!request.headers.has(DECISION_REQUEST_HEADER)) return NextResponse.next();
    return NextResponse.next({ request: { headers: withoutDecision(request.headers) } });
  } catch {
    return NextResponse.next();
  }
}

const WARNED = Symbol.for('@graylane/next.warned-edge-key');

/** Edge-runtime middleware cannot share a key with the app's realm: say so once. */
function warnWithoutSharedKey(): void {
  const g = globalThis as { [WARNED]?: boolean; EdgeRuntime?: unknown };
  if (typeof g.EdgeRuntime !== 'string' || hasSharedKey() || g[WARNED]) return;
  g[WARNED] = true;
  console.warn(
    `[graylane] middleware on the edge runtime: set ${DECISION_KEY_ENV} (a secret, ≥ 16 bytes) for the middleware and the app, or getGrayVersion() cannot verify the decision and sees none`,
  );
}
