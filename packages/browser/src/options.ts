import { GraylaneError, VERSION_PATTERN } from '@graylane/core';
import type { AllowEntry, DecisionReason } from '@graylane/core';
import type { CookieJarLike } from './cookie-jar.js';

/** Called once per change of the assigned version, with why it changed. */
export type GrayListener = (version: string, reason: DecisionReason) => void;

/** What client-side rules see when no marker applies. */
export interface GrayRulesContext {
  /**
   * A random id kept in a cookie: the subject of a split (created on first use). `''` when the
   * cookie cannot be kept (cookies off or refused, `cookie: false`): do not bucket on it — a new
   * id every page view would move the visitor every page view.
   */
  readonly anonymousId: string;
  /** The configured default version. */
  readonly defaultVersion: string;
}

/** Client-side rules (`split`, `rulesFromConfig`, or your own): a version and why, or `undefined`. */
export type GrayRules = (
  context: GrayRulesContext,
) => { readonly version: string; readonly reason: DecisionReason } | undefined;

/**
 * Cookie persistence. `false` keeps the version in memory for the page only. Both names are
 * RFC 6265 tokens without `%` (letters, digits and ``!#$&'*+-.^_`|~``), not prefixed with
 * `__Host-`, `__Secure-` or `__Http-` (graylane prefixes them itself); any other name throws
 * `INVALID_OPTIONS` at init (js-cookie would write it percent-encoded and the page would never
 * read it back). The two names must differ, defaults included (`{ name: 'gray_aid' }` is the
 * anonymous id's cookie): one cookie for both throws `INVALID_OPTIONS` too. Names are compared
 * as written (cookies are case-sensitive).
 */
export interface GrayCookieOptions {
  /** Base name; `__Host-` (https) or `__Secure-` (https + `domain`) is prefixed. Default `gray`. */
  readonly name?: string;
  /** Share the cookie across subdomains (BC-02: a sibling host can then toss a cookie). */
  readonly domain?: string;
  /**
   * Lifetime in seconds, clamped to 30 days (BC-06; fractions are cut; `Infinity` is 30 days).
   * Default 30 days. Anything but a number of at least 1 throws `INVALID_OPTIONS` at init: `0`,
   * `-5`, `0.5`, `NaN`, `'abc'` wrote `Max-Age=0`, so nothing persisted.
   */
  readonly maxAgeSeconds?: number;
  /** Base name of the anonymous id cookie. Default `gray_aid`. */
  readonly anonymousIdName?: string;
}

/** Options of {@link initGray}. Only mistakes here throw; nothing at request time does. */
export interface GrayOptions {
  /** The closed set of versions, an array; nothing else is ever stored or sent. */
  readonly versions: readonly string[];
  /** Served when nothing else applies. Must be one of `versions`. */
  readonly default: string;
  /** Client-side rules, e.g. `split({ beta: 5 })` or `rulesFromConfig(config)`. */
  readonly rules?: GrayRules;
  /** Cross-origin targets that may receive the header: exact origins or anchored RegExps. */
  readonly allow?: readonly AllowEntry[];
  /**
   * Requests that never receive the header although their origin may: `excludePaths([...])` for
   * same-origin paths your server forwards to a third party, or your own test of the resolved
   * URL (a throwing test counts as excluded).
   */
  readonly exclude?: (url: URL) => boolean;
  /**
   * The request/response header. Default `X-Gray-Id`. An RFC 9110 field name (letters, digits and
   * ``!#$%&'*+-.^_`|~``) that a page may set (in a browser, not `Cookie`, `Host`, `Sec-*`,
   * `Proxy-*` or another of Fetch's forbidden request-header names); anything else throws
   * `INVALID_OPTIONS` at init.
   */
  readonly header?: string;
  /** Opt-in QA override from the query: `true` reads `?gray=`, a string names the parameter. */
  readonly override?: boolean | string;
  /** Persist the query override to the cookie. Default `false`: this page only (QS-02). */
  readonly persistOverride?: boolean;
  /**
   * The version the server rendered this page for. It rules this page view (only a valid opt-in
   * `?gray=` override beats it), so the first paint, hydration and the API calls agree. It is
   * never stored: the server's own sticky cookie persists what may be persisted (a hand-off may
   * come from a one-off marker or be the default). When `undefined`, `initGray` reads
   * `<meta name="graylane-version" content="beta">` instead. Invalid values are ignored (I3).
   * During SSR it is the inert client's version.
   */
  readonly serverVersion?: string | undefined;
  readonly cookie?: GrayCookieOptions | false;
  /**
   * Where cookies are read and written. Default: a built-in `document.cookie` jar (no
   * dependency). `jsCookieJar` from `@graylane/browser/js-cookie` uses js-cookie instead.
   */
  readonly cookies?: CookieJarLike;
  /**
   * Exposure callback: once for the first assignment and once per change of version. Never
   * called during SSR; a repeated `initGray` with the same options swaps it in without a call.
   */
  readonly onAssign?: GrayListener;
  /**
   * @deprecated Ignored. A refused `X-Gray-Id` is reported by the browser itself, on every
   * request, naming the header and `Access-Control-Allow-Headers` (CORS-02).
   */
  readonly debug?: boolean;
}

/** @internal Checks the versions and the default (throws `INVALID_OPTIONS`); returns the set. */
export function versionSet(o: GrayOptions): ReadonlySet<string> {
  // `initGray()` / `initGray(null)` from plain JS: no list. A string would be read one character
  // at a time, a number is no list at all (review 69 N2; `allow`: review 120 D3).
  // An array, as typed (a `Set` from plain JS too is refused: ~20 B to take any list).
  if (!Array.isArray(o?.versions)) fail('versions');
  const set = new Set(o.versions);
  for (const v of set) if (!VERSION_PATTERN.test(v)) fail(`version "${v}"`);
  if (!set.has(o.default)) fail(`default "${o.default}"`);
  if (o.exclude != null && typeof o.exclude != 'function') fail('exclude: use excludePaths([…])');
  if (o.allow !== undefined && !Array.isArray(o.allow)) fail('allow: a list of origins');
  // An RFC 9110 field name (`token`), or `headers.set` throws on every request and the marker
  // silently never goes (review 69 D4). `null`: the default. Nor a name the browser does not let
  // a page set (Fetch's forbidden request-header names: `Cookie`, `Host`, `Sec-*`, `Proxy-*`…;
  // Chromium's `User-Agent`): fetch and XHR drop it without an error (review 69). A `Request`'s
  // headers drop exactly those, as this browser counts them; on a server (SSR under Node) a
  // request may carry any name, and it is taken.
  const h = o.header ?? 'x';
  if (!/^[%\w!#$&'*+.^`|~-]+$/.test(h) || dropped(h)) fail('header');
  return set;
}

/**
 * Whether the page's own `Request` drops the header name (a forbidden name) while it keeps a
 * plain one; false where it cannot tell — no `Request`, or one replaced by a stub or a mock that
 * keeps no header (reviews 78 D4, 79 D3).
 */
function dropped(name: string): boolean {
  try {
    const h = new Request('http://a', {
      headers: [
        [name, '1'],
        ['a', '1'],
      ],
    }).headers;
    return h.has('a') === true && !h.has(name);
  } catch {
    return false;
  }
}

/** @internal Throws the one configuration error of `initGray`. */
export function fail(what: string): never {
  throw new GraylaneError('INVALID_OPTIONS', `initGray: invalid ${what}`);
}
