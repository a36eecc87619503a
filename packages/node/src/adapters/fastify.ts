/**
 * `@graylane/node/fastify` — a fastify (4/5) plugin. Fastify is not imported: the plugin is
 * typed structurally and marked with `Symbol.for('skip-override')` (what `fastify-plugin`
 * sets), so its hooks apply to the whole app rather than an encapsulated child context.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readQueryParam, routerTarget, type InboundOptions } from '@graylane/core';
import { runInRequestContext } from '../inbound/bind.js';
import { editParsedCookies, editParsedQuery, fromIncomingMessage } from '../inbound/carrier.js';
import { createEngine } from '../inbound/engine.js';
import { decideOnce } from '../inbound/once.js';
import type { InboundOutcome } from '../inbound/engine.js';
import { getOtelBridge } from '../otel/index.js';
import { DEFAULT_MARKER_KEY } from '../limits.js';
import type { GraylaneStats } from '../metrics/stats.js';
import { RoutedCarrier, splitTarget } from './routed-url.js';

/**
 * The part of a fastify request graylane reads. Plugins decorate requests (`request.user` from
 * `@fastify/jwt` or passport, `request.session` …); those decorations are typed loosely here so
 * `attributes: (request) => ({ userId: request.user?.id })` compiles.
 */
export interface FastifyRequestLike {
  readonly raw: IncomingMessage;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- plugin decorations (user, session …)
  readonly [decoration: string]: any;
}

/** The part of a fastify reply graylane writes: its Node response. */
export interface FastifyReplyLike {
  readonly raw: ServerResponse;
}

type HookDone = (err?: Error) => void;
type Hook = (request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone) => void;

/** The part of a fastify instance the plugin uses. */
export interface FastifyInstanceLike {
  addHook(name: 'onRequest' | 'preValidation', hook: Hook): unknown;
  /** Where the plugin puts its counters (`graylaneFastifyStats(app)` reads them). */
  decorate?(name: string, value: unknown): unknown;
  hasDecorator?(name: string): boolean;
  /** The options the app was created with; read for the router's settings. */
  readonly initialConfig?: unknown;
}

/** Plugin options: `attributes`, `subject` and `onDecision` receive the fastify request. */
export type GraylaneFastifyOptions = InboundOptions<FastifyRequestLike>;

/** The plugin function, with fastify's skip-override and display-name markers. */
export type GraylaneFastifyPlugin = ((
  instance: FastifyInstanceLike,
  options: GraylaneFastifyOptions,
  done: HookDone,
) => void) & {
  readonly [key: symbol]: unknown;
};

/**
 * The fastify plugin. Register it after authentication plugins and before routes. The
 * `onRequest` hook decides and binds the context; `preValidation` re-binds it when the chain
 * continued from elsewhere, i.e. after a body was parsed (content parsers run from socket events,
 * outside any request context: fastify#3570, RELIABILITY CTX-05) — a body-less request runs in
 * one `AsyncLocalStorage.run`. Callbacks get the fastify request. Construction errors are
 * passed to `done`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { graylaneFastify } from '@graylane/node/fastify';
 * const app = Fastify();
 * await app.register(graylaneFastify, { config, attributes: (request) => ({ userId: request.user?.id }) });
 * app.get('/', async () => getGrayVersion());
 * ```
 */
export const graylaneFastify: GraylaneFastifyPlugin = Object.assign(
  function graylanePlugin(
    instance: FastifyInstanceLike,
    options: GraylaneFastifyOptions,
    done: HookDone,
  ): void {
    let engine: ReturnType<typeof createEngine<FastifyRequestLike>>;
    try {
      engine = createEngine<FastifyRequestLike>(options);
    } catch (err) {
      done(err as Error);
      return;
    }
    try {
      // The app's decision counters, for the status page (the plugin function is shared by every
      // app, so they cannot hang off it as koa's and express's do). Several registrations on one
      // app: the last one's, whose decision the routes see (its hooks run last).
      const own = Object.prototype.hasOwnProperty.call(instance, STATS)
        ? ((instance as unknown as Record<string, unknown>)[STATS] as StatsDecoration)
        : undefined;
      if (typeof own === 'function' && typeof own[LATEST] === 'object') own[LATEST].engine = engine;
      else if (instance.hasDecorator?.(STATS) === false) {
        const latest = { engine };
        instance.decorate?.(
          STATS,
          Object.assign(() => latest.engine.stats(), { [LATEST]: latest }),
        );
      }
    } catch {
      // A fastify that refuses the decoration: graylaneFastifyStats names what is missing.
    }
    const route = routedTarget(routerSettings(instance));
    // Edge mode: the name whose entry must leave `request.query` whatever parsed it (D3).
    const edgeKey =
      options.trust === 'edge'
        ? typeof options.markers?.query === 'string'
          ? options.markers.query
          : DEFAULT_MARKER_KEY
        : undefined;
    const decide = (request: FastifyRequestLike, reply?: FastifyReplyLike) => {
      // What `@fastify/cookie` (an `onRequest` hook registered earlier) parsed from; a decoration
      // that throws is read as absent (I1).
      const cookies = readDecoration(request, 'cookies');
      const cookieHeader = cookies === undefined ? undefined : request.raw.headers.cookie;
      const outcome = decideOnce(engine, {
        key: request.raw,
        req: request,
        carrier:
          route === undefined
            ? fromIncomingMessage(request.raw, false, fastifyHost, request)
            : new RoutedCarrier(
                fromIncomingMessage(request.raw, false, fastifyHost, request),
                route,
              ),
        // On the Node response itself, so a route that writes through `reply.raw` (SSE, `hijack()`)
        // sends them too; graylane's cookies are kept at `writeHead` (node-response.ts).
        sink: reply?.raw,
        bind: true,
        res: reply?.raw,
      });
      // fastify parses the query before `onRequest`; `@fastify/cookie` parses cookies in its own
      // `onRequest` hook: edit those copies as the URL and the header were (GW-02).
      const edits = outcome.edits;
      const parsed =
        edits?.query || edgeKey !== undefined ? readDecoration(request, 'query') : undefined;
      if (edits?.query) editParsedQuery(parsed, edits.query);
      if (edgeKey !== undefined) dropUnreadMarker(parsed, edgeKey, request.raw.url, route);
      const cookie = edits?.headers.get('cookie');
      if (cookie !== undefined) editParsedCookies(cookies, cookieHeader, cookie, true);
      return outcome;
    };
    // The request whose `onRequest` continuation is running right now (synchronously, inside
    // its context). Fastify runs the hooks of a body-less request in one synchronous chain, so
    // `preValidation` finds both contexts (graylane's and OTel's) still bound and needs no second
    // `AsyncLocalStorage.run` — on Node 24 each `run` costs ~8× what it costs on Node 20.
    let inOnRequest: IncomingMessage | undefined;
    instance.addHook('onRequest', function graylaneOnRequest(request, reply, next) {
      const outcome = decide(request, reply);
      markFastifyOtelContext(request, outcome);
      runInRequestContext(outcome, () => {
        const outer = inOnRequest;
        inOnRequest = request.raw;
        try {
          next();
        } finally {
          inOnRequest = outer;
        }
      });
    });
    instance.addHook('preValidation', function graylanePreValidation(request, _reply, next) {
      // Still inside onRequest's run: the context is bound. Otherwise a body parser (or an
      // async hook) continued the chain from another context: bind it again (CTX-05).
      if (inOnRequest === request.raw) next();
      else runInRequestContext(decide(request), next);
    });
    done();
  },
  {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'graylane',
  },
);

/** A request decoration, or undefined when reading it throws (a lazy getter: I1). */
function readDecoration(request: FastifyRequestLike, name: string): unknown {
  try {
    return request[name] as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Edge mode: `request.query` keeps no entry under the marker key that the request target, as
 * edited and as the router reads it, does not carry (D3). fastify parsed it before `onRequest`,
 * with whatever `querystringParser` the app set: one that splits at `;` (`?a=1;gray=beta`) or
 * lower-cases keys (`?GRAY=beta`) finds a `gray` graylane's reading (and its removal) never saw.
 * Never throws.
 */
function dropUnreadMarker(
  parsed: unknown,
  key: string,
  url: string | undefined,
  route: ((url: string) => string) | undefined,
): void {
  if (typeof parsed !== 'object' || parsed === null) return;
  try {
    if (!Object.prototype.hasOwnProperty.call(parsed, key)) return;
    let read = false;
    if (typeof url === 'string') {
      let target = routerTarget(url);
      try {
        if (route !== undefined) target = route(target);
      } catch {
        // read as it came
      }
      const q = target.indexOf('?');
      read = q !== -1 && readQueryParam(target.slice(q), key).kind !== 'absent';
    }
    if (!read) delete (parsed as Record<string, unknown>)[key];
  } catch {
    // a frozen query object keeps what was parsed
  }
}

/** The fastify decoration holding the plugin's counters. */
const STATS = 'graylaneStats';
/** Where the decoration keeps the engine it reads (the app's last registration). */
const LATEST = Symbol('graylane.latest');
type StatsDecoration = (() => GraylaneStats) & {
  [LATEST]?: { engine: { stats(): GraylaneStats } };
};

/**
 * The decision counters of the graylane plugin registered on `app` (`stats()` of the other
 * adapters), for the status page and your own reporting. Read when called: create it before or
 * after `register`; it throws, naming the cause, while no graylane plugin is registered on `app`
 * or a parent of it.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createGraylane } from '@graylane/node';
 * import { graylaneFastify, graylaneFastifyStats } from '@graylane/node/fastify';
 * import { createStatusHandler } from '@graylane/node/status';
 * const config = { versions: ['stable', 'beta'], default: 'stable' };
 * const app = Fastify();
 * const { store } = createGraylane({ config });
 * const status = createStatusHandler({ graylane: { store, stats: graylaneFastifyStats(app) }, enabled: true });
 * app.addHook('onRequest', status.fastify);
 * await app.register(graylaneFastify, { config: store });
 * ```
 */
export function graylaneFastifyStats(app: FastifyInstanceLike): () => GraylaneStats {
  return () => {
    const stats = (app as unknown as Readonly<Record<string, unknown>>)[STATS];
    if (typeof stats !== 'function')
      throw new Error(
        'graylane: no graylane fastify plugin is registered on this app (register graylaneFastify on it, or on a parent)',
      );
    return (stats as () => GraylaneStats)();
  };
}

/** The settings of the app's router (find-my-way) that change which path a route is chosen by. */
interface RouterSettings {
  /** `useSemicolonDelimiter`: the path ends at the first `;`, and the query starts after it. */
  readonly semicolon: boolean;
  /** `ignoreDuplicateSlashes`: every run of `/` is one. */
  readonly duplicateSlashes: boolean;
  /** `ignoreTrailingSlash`: one trailing `/` goes. */
  readonly trailingSlash: boolean;
  /** `caseSensitive: false`: the path is lower-cased. */
  readonly lowerCase: boolean;
}

/**
 * What the app's router was built with. fastify 5 keeps that in its options (`routerOptions`,
 * each key from `routerOptions` when set there, else from the top-level option, else its
 * default): read there first. `initialConfig` alone cannot tell, since it fills `routerOptions`
 * with defaults (`false`) even when the top-level option, which the router then honours, is
 * `true`; a fastify without the built options (4) is read from it, either one set meaning on, and
 * one that does not say whether it splits at `;` (4 before the option existed) is taken to split.
 */
function routerSettings(instance: FastifyInstanceLike): RouterSettings {
  type Settings = Readonly<Record<string, unknown>> | undefined;
  try {
    let built: Settings;
    const key = findSymbol(instance, 'fastify.options');
    const options =
      key === undefined ? undefined : (instance as unknown as Record<symbol, unknown>)[key];
    const router = (options as { routerOptions?: unknown } | undefined)?.routerOptions;
    // Only fastify 5 builds it (with its own `defaultRoute` and `onBadUrl`); fastify 4 keeps a
    // `routerOptions` the app passed as it came, and ignores it (D4).
    if (
      typeof router === 'object' &&
      router !== null &&
      (typeof (router as Settings)?.['defaultRoute'] === 'function' ||
        typeof (router as Settings)?.['onBadUrl'] === 'function')
    )
      built = router as Settings;
    if (built !== undefined)
      return {
        semicolon: built['useSemicolonDelimiter'] === true,
        duplicateSlashes: built['ignoreDuplicateSlashes'] === true,
        trailingSlash: built['ignoreTrailingSlash'] === true,
        lowerCase: built['caseSensitive'] === false,
      };
    const top = instance.initialConfig as Settings;
    // fastify 4's `initialConfig` has no `routerOptions`; a 5 read without its options has.
    const nested = (key === undefined ? top?.['routerOptions'] : undefined) as Settings;
    const either = (name: string, value: unknown) =>
      top?.[name] === value || nested?.[name] === value;
    const said =
      top?.['useSemicolonDelimiter'] !== undefined ||
      nested?.['useSemicolonDelimiter'] !== undefined;
    return {
      semicolon: !said || either('useSemicolonDelimiter', true),
      duplicateSlashes: either('ignoreDuplicateSlashes', true),
      trailingSlash: either('ignoreTrailingSlash', true),
      lowerCase: either('caseSensitive', false),
    };
  } catch {
    // options or getters that throw: fastify 4's defaults (I1)
    return { semicolon: true, duplicateSlashes: false, trailingSlash: false, lowerCase: false };
  }
}

/**
 * The request target as find-my-way routes it (REQ-03), for `path` and `query` rules: with
 * `useSemicolonDelimiter`, the path ends at its first `;` (`/admin;jsessionid=1` is served by
 * `/admin`) and what follows is the query the route's `request.query` is parsed from (a later
 * `?` separates parameters, as for every reader that starts the query there); then runs of `/`
 * are one, a trailing `/` goes and the path is lower-cased, as the router is set. Undefined when
 * the router changes nothing (fastify's defaults): the target is read as it came.
 */
function routedTarget(settings: RouterSettings): ((url: string) => string) | undefined {
  const { semicolon, duplicateSlashes, trailingSlash, lowerCase } = settings;
  if (!semicolon && !duplicateSlashes && !trailingSlash && !lowerCase) return undefined;
  return (url) => {
    let [path, query] = splitTarget(url);
    const semi = semicolon ? path.indexOf(';', 1) : -1;
    if (semi !== -1) {
      const params = path.slice(semi + 1);
      path = path.slice(0, semi);
      query = query === '' ? `?${params}` : `?${params}&${query.slice(1)}`;
    }
    if (duplicateSlashes && path.includes('//')) path = path.replace(/\/\/+/g, '/');
    if (trailingSlash && path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    if (lowerCase) path = lowerCased(path);
    return path + query;
  };
}

/**
 * The path as find-my-way matches it with `caseSensitive: false` (D2): `decodeURI`'s decoding
 * (every escape but those of `# $ & + , / : ; = ? @`, and `%25`, which it keeps), then
 * `toLowerCase()` — Unicode's, so `%E2%84%AA` (KELVIN SIGN) is `k` and `/chec%E2%84%AAout` is
 * served by `/checkout` — and what is not a URL character escaped again (`é` as `%C3%A9`), so the
 * rules' reading, which decodes only unreserved escapes, sees that path. A path the router cannot
 * decode (it answers 400) is only lower-cased.
 */
function lowerCased(path: string): string {
  if (!path.includes('%')) return path.toLowerCase();
  let decoded: string;
  try {
    decoded = decodeURI(path.replace(/%25/g, '%2525'));
  } catch {
    return path.toLowerCase();
  }
  return decoded.toLowerCase().replace(/[^\w\-.~!$&'()*+,;=:@/%]+/gu, encodeURIComponent);
}

/** The request decoration where `@fastify/otel` keeps the context its hooks and handler run in. */
const FASTIFY_OTEL_CONTEXT = 'fastify otel request context';
let otelContextKey: symbol | undefined;

/**
 * `@fastify/otel` captures the OTel context in its own `onRequest` hook and runs every later hook
 * and the route handler in it (`context.with(request[kRequestContext])`). Registered first (as its
 * README says), it captured the context before graylane decided, so OTel's baggage in the handler
 * had no marker and instrumented clients dropped the lane (OTB-03). Put the marker into that
 * context. Found by its description, only on requests `@fastify/otel` decorated; never throws.
 */
function markFastifyOtelContext(request: FastifyRequestLike, outcome: InboundOutcome): void {
  try {
    const key = outcome.store.baggageKey;
    if (typeof request['opentelemetry'] !== 'function') return;
    const holder = request as unknown as Record<symbol, unknown>;
    if (otelContextKey === undefined || !(otelContextKey in holder))
      otelContextKey = findSymbol(request, FASTIFY_OTEL_CONTEXT);
    if (otelContextKey === undefined) return;
    const ctx = holder[otelContextKey];
    const bridge = getOtelBridge();
    if (bridge === undefined || typeof ctx !== 'object' || ctx === null) return;
    const captured = ctx as Parameters<typeof bridge.markContext>[0];
    // With the baggage carrier off, the client's member goes instead (OTB-02): the W3C
    // propagator would forward the context `@fastify/otel` captured before graylane ran.
    holder[otelContextKey] =
      key === false
        ? bridge.unmarkContext(captured, DEFAULT_MARKER_KEY)
        : bridge.markContext(captured, outcome.decision.version, key);
  } catch {
    // Telemetry never breaks a request (I1).
  }
}

function findSymbol(target: object, description: string): symbol | undefined {
  for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const found = Object.getOwnPropertySymbols(o).find((s) => s.description === description);
    if (found !== undefined) return found;
  }
  return undefined;
}

export type { GraylaneOptions } from '../options.js';

/**
 * The host fastify reads: `request.host` (fastify 5; `X-Forwarded-Host` under `trustProxy`, then
 * `Host`, then h2's `:authority`), or `request.hostname` (fastify 4, with its port).
 */
function fastifyHost(request: FastifyRequestLike): unknown {
  const r = request as { host?: unknown; hostname?: unknown };
  const host = r.host;
  return typeof host === 'string' ? host : r.hostname;
}
