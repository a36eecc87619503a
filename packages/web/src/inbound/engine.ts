import {
  countReloads,
  createInboundEngine,
  DEFAULT_MARKER_COOKIES,
  GraylaneError,
  MARKER_SOURCES,
  fromFetchRequest,
  routerTarget,
  type CarrierEdits,
  type ConfigStore,
  type Decision,
  type InboundOptions,
  type InboundOutcome,
  type MarkerSource,
  type RegexEngine,
  type SourceStatus,
  type TrustMode,
} from '@graylane/core';
import { runInLane } from '../context/run.js';
import { GrayLane } from '../context/storage.js';
import { DEFAULT_MARKER_KEY } from '../limits.js';
import { DecisionCounters, type WebCounters, type WebGraylaneStats } from '../metrics/decisions.js';
import { applyOutcome } from '../response/apply.js';
import { webHmacSha256, webHmacVerify } from '../signing/webcrypto.js';
import type { EdgeRuleSource } from '../sources/types.js';
import { rewriteCarriers, withEdits } from './forward.js';

/** Options of {@link createGraylane}: core's inbound options over a Fetch `Request`, plus edge rules. */
export interface WebGraylaneOptions extends InboundOptions<Request> {
  /** Rules at the edge (`createKvRules`, `createHttpRules`), refreshed on requests. */
  readonly rules?: EdgeRuleSource | undefined;
  /** Linear-time regex engine for `regex` matchers (e.g. `createRe2Engine(RE2JS)`). */
  readonly regex?: RegexEngine | undefined;
  /**
   * `edge` mode: the peer address compared with `trustedProxies` (the Web API has no socket).
   * Only a value the platform sets and no client can: on Cloudflare Workers
   * `(req) => req.headers.get('cf-connecting-ip') ?? undefined` (Cloudflare overwrites it). Off
   * Workers such a header is client input: on Deno and Bun pass the runtime's peer per request
   * instead ({@link DecideContext.remoteAddress}), which replaces this option.
   */
  readonly remoteAddress?: ((request: Request) => string | undefined) | undefined;
  /**
   * Metrics hook: every decision, every ignored marker and every reload of `rules`, as they are
   * counted (forward them to OpenTelemetry, Workers Analytics Engine, …). Errors are caught.
   * `stats()` counts either way.
   */
  readonly counters?: WebCounters | undefined;
}

/** Per-request platform hooks. */
export interface DecideContext {
  /** Keeps a background rules refresh alive after the response (`ctx.waitUntil`). */
  readonly waitUntil?: ((promise: Promise<unknown>) => void) | undefined;
  /**
   * The peer of this request as the runtime reports it (Deno: `info.remoteAddr.hostname`, Bun:
   * `server.requestIP(request)?.address`; `'unix'` on a Unix domain socket). Present, even as
   * `undefined` (the runtime knows no peer: none is trusted), it replaces `options.remoteAddress`.
   */
  readonly remoteAddress?: string | undefined;
}

/** What the engine decided for one request, and what to write back. */
export interface WebOutcome {
  readonly decision: Decision;
  /** The lane to bind or pass to `withGray` (decision + outbound allowlist and names). */
  readonly lane: GrayLane;
  /** `Set-Cookie` values (sticky cookies), possibly empty. Signed cookies are already signed. */
  readonly setCookies: readonly string[];
  /** The `X-Gray-Decision` value when `debugHeader` is on. */
  readonly debugHeader: string | undefined;
  /**
   * How the request must change so the app and its proxies see only the decided version, as
   * `@graylane/node` edits a Node request (GW-01/02): the carriers the decision did not keep,
   * and the bucket header. Undefined when nothing needs changing. `handle()` and the hono
   * adapter apply it; {@link WebGraylane.forwardRequest} rewrites every carrier.
   */
  readonly edits?: CarrierEdits | undefined;
}

/** The Web engine for one app. */
export interface WebGraylane {
  /** Decides one request. Never rejects (I1): any failure serves the default version. */
  decide(request: Request, context?: DecideContext): Promise<WebOutcome>;
  /**
   * Decides, runs `handler` in the lane (bound where an `AsyncLocalStorage` exists) and writes
   * the sticky cookies and debug header onto its response. In `edge` mode the handler receives
   * the request with the client's carriers removed (GW-02). A `handler` that is not a function
   * rejects with `INVALID_OPTIONS`.
   */
  handle(
    request: Request,
    handler: (request: Request, outcome: WebOutcome) => Response | Promise<Response>,
    context?: DecideContext,
  ): Promise<Response>;
  /**
   * Runs `fn` with the outcome's lane bound (where an `AsyncLocalStorage` exists). Throws
   * `INVALID_OPTIONS` for anything but an outcome (or its lane) and a function.
   */
  run<T>(outcome: WebOutcome | GrayLane, fn: () => T): T;
  /**
   * The request a gateway forwards: the client's carriers removed and the decided marker
   * written once (GW-01/GW-02). `target` replaces the URL (the upstream). Throws
   * `INVALID_OPTIONS` for anything but a `Request` and an outcome (or its lane).
   */
  forwardRequest(request: Request, outcome: WebOutcome, target?: string | URL): Request;
  /**
   * The request with every client carrier removed: the marker header, every marker cookie pair
   * (`__Host-gray`, `__Secure-gray` and `gray`), the baggage member, the query marker, and the bucket header when
   * `bucketHeader` is set. What is not a carrier is kept byte for byte; a body already read is
   * not carried over.
   */
  stripCarriers(request: Request): Request;
  /** Refreshes the edge rules now (if any); never rejects. */
  refresh(): Promise<void>;
  /** The config store in force. */
  readonly store: ConfigStore;
  /** The edge rule source's status, or undefined without one. */
  sourceStatus(): SourceStatus | undefined;
  /** In-process counters snapshot (decisions, invalid markers, outbound hops). */
  stats(): WebGraylaneStats;
}

/**
 * Creates the Web-standard engine for Workers, Vercel Edge, Deno, Bun and Next.js: the same
 * markers, precedence, trust modes (`open`/`signed`/`edge`), sticky cookies and debug header
 * as `@graylane/node`, decided by `@graylane/core`'s engine, with signed markers verified by
 * Web Crypto. Throws only on bad options or an invalid config (construction time).
 *
 * @example
 * ```ts
 * const gray = createGraylane({ config, allowHosts: ['api.internal'], sticky: true });
 * export default {
 *   fetch: (request, env, ctx) => gray.handle(request, (req, { decision }) =>
 *     new Response(`hello from ${decision.version}`), ctx),
 * };
 * ```
 */
export function createGraylane(options: WebGraylaneOptions): WebGraylane {
  if (typeof options !== 'object' || options === null)
    throw new GraylaneError('INVALID_OPTIONS', 'createGraylane: options are required ({ config })');
  const counters = new DecisionCounters(options.counters);
  const engine = createInboundEngine<Request>(options, {
    randomId: () => crypto.randomUUID(),
    counters,
    regex: options.regex,
    warn: (message) => console.warn(message),
  });
  const opts = engine.options;
  // A carrier switched off here is still stripped under its default name: an upstream graylane
  // with default settings would read it (GW-02).
  const names = {
    header: opts.header,
    cookie: opts.cookie === false ? DEFAULT_MARKER_KEY : opts.cookie,
    cookies: opts.cookie === false ? DEFAULT_MARKER_COOKIES : opts.cookieNames,
    query: opts.query === false ? DEFAULT_MARKER_KEY : opts.query,
    baggage: opts.baggage === false ? DEFAULT_MARKER_KEY : opts.baggage,
    bucket: opts.bucketHeader,
  };
  const rules = options.rules;
  // What the rules source updates: the store, every update and failed read counted (core's
  // `countReloads`, as Node's sources count `graylane.config.reloads`).
  const ruleStore =
    rules && countReloads(opts.store, (source, result) => counters.reload(source, result));

  /**
   * A lane decided under a trust that did not take the client's word (`edge`; `signed` without a
   * valid client token) carries its own version on every allowlisted hop, whatever marker the
   * app forwards with the request's headers (GW-01, HDR-14); one a valid token decided keeps
   * that token too; an `open` one keeps the caller's marker (OUT-03).
   */
  const laneOf = (decision: Decision, trust: TrustMode): GrayLane =>
    new GrayLane(
      decision,
      opts.allow,
      opts.header,
      opts.baggage,
      trust === 'open'
        ? 'any'
        : trust === 'signed' && MARKER_SOURCES.includes(decision.source as MarkerSource)
          ? 'token'
          : 'version',
    );

  const evaluate = async (request: Request, context: DecideContext): Promise<InboundOutcome> => {
    const remote =
      'remoteAddress' in context ? context.remoteAddress : safeCall(options.remoteAddress, request);
    // A `#` in the target (Bun, Deno and @hono/node-server keep one a client sent in `url`) starts
    // the query, as @graylane/node reads it (see routerTarget): a marker there is judged.
    const { method, headers } = request;
    const carrier = fromFetchRequest({ method, url: routerTarget(request.url), headers }, remote);
    if (opts.trust !== 'signed') return engine.evaluate(carrier, request);
    const prepared = engine.prepare(carrier, request);
    const verified = await Promise.all(
      prepared.signatureChecks.map((c) => webHmacVerify(c.key, c.data, c.signature)),
    );
    return engine.complete(prepared, verified);
  };

  const decide = async (request: Request, context: DecideContext = {}): Promise<WebOutcome> => {
    kickRefresh(context);
    let outcome: InboundOutcome;
    try {
      outcome = await evaluate(request, context);
    } catch {
      const config = opts.store.get().config;
      const decision: Decision = { version: config.default, reason: 'default', source: 'default' };
      return {
        decision,
        lane: laneOf(decision, opts.trust),
        setCookies: [],
        debugHeader: undefined,
      };
    }
    // What is persisted (STK-01/02, `sticky.persistMarkers`) is core's decision, as on Node.
    const signed = await Promise.all(
      outcome.pendingCookies.map(async (p) => {
        try {
          return p.finish(await webHmacSha256(p.key, p.data));
        } catch {
          return undefined;
        }
      }),
    );
    return {
      decision: outcome.decision,
      lane: laneOf(outcome.decision, outcome.trust),
      setCookies: [...outcome.setCookies, ...signed.filter((c): c is string => c !== undefined)],
      debugHeader: outcome.debugHeader,
      edits: outcome.edits,
    };
  };

  const kickRefresh = (context: DecideContext): void => {
    if (!rules) return;
    try {
      const pending = rules.refreshIfDue(ruleStore ?? opts.store);
      if (pending) context.waitUntil?.(pending);
    } catch {
      // A broken source never breaks a request (FLT-16).
    }
  };

  /** What the app sees: core's edits applied (every mode, as on Node); the request on failure. */
  const seenBy = (request: Request, outcome: WebOutcome): Request => {
    try {
      return withEdits(request, outcome.edits);
    } catch {
      return opts.trust === 'edge' ? stripCarriers(request) : request;
    }
  };

  const stripCarriers = (request: Request): Request => {
    try {
      return rewriteCarriers(request, names, undefined);
    } catch {
      return request;
    }
  };

  return {
    decide,
    async handle(request, handler, context) {
      if (typeof handler !== 'function') throw bad('gray.handle: pass a handler function');
      const outcome = await decide(request, context);
      const seen = seenBy(request, outcome);
      const response = await runInLane(outcome.lane, () => handler(seen, outcome));
      return applyOutcome(response, outcome);
    },
    run(outcome, fn) {
      if (typeof fn !== 'function') throw bad('gray.run: pass a function');
      return runInLane(laneIn(outcome, 'gray.run'), fn);
    },
    forwardRequest(request, outcome, target) {
      const call = 'gray.forwardRequest';
      if (typeof request?.url !== 'string') throw bad(`${call}: pass a Request`);
      const { decision } = laneIn(outcome, call);
      return rewriteCarriers(request, names, decision, target, opts.baggage !== false);
    },
    stripCarriers,
    refresh: async () => {
      try {
        await rules?.refresh(ruleStore ?? opts.store);
      } catch {
        // A source of the app's own that rejects: the promise above says never (FLT-16).
      }
    },
    store: opts.store,
    sourceStatus: () => rules?.status(),
    stats: () => counters.snapshot(),
  };
}

function bad(message: string): GraylaneError {
  return new GraylaneError('INVALID_OPTIONS', message);
}

/** The lane of an outcome (or a lane itself); anything else is a programming mistake. */
function laneIn(outcome: WebOutcome | GrayLane | undefined, call: string): GrayLane {
  const lane = outcome instanceof GrayLane ? outcome : outcome?.lane;
  // Structural: an outcome of another copy of this package (ESM and CJS) carries its own class.
  if (typeof lane?.decision?.version === 'string') return lane;
  throw bad(`${call}: pass the outcome gray.decide() returned (or its lane)`);
}

function safeCall<T>(fn: ((request: Request) => T) | undefined, request: Request): T | undefined {
  try {
    return fn?.(request);
  } catch {
    return undefined;
  }
}
