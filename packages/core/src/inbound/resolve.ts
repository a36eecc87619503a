import { GraylaneError } from '../errors.js';
import { MAX_COOKIE_MAX_AGE_SECONDS } from '../limits.js';
import { createAllowlist, type Allowlist } from '../propagation/allowlist.js';
import { MARKER_SOURCES, type MarkerSource } from '../reasons.js';
import type { RegexEngine } from '../regex.js';
import { BUCKET_HEADER } from '../rules/bucket-header.js';
import type { Decision } from '../rules/types.js';
import { compileSigningKeys } from '../signed/keys.js';
import { createConfigStore, isConfigStore } from '../store/store.js';
import type { ConfigStore } from '../store/types.js';
import { compileTrustedProxies, type PeerMatcher } from './peers.js';
import { DEFAULT_HEADER, DEFAULT_MARKER_KEY, DEFAULT_STICKY_MAX_AGE_SECONDS } from './defaults.js';
import { markerCookieNames } from './cookie-names.js';
import type { GrayAttributes, InboundOptions, StickyOptions, TrustMode } from './types.js';

/** Sticky settings with every default applied. */
export interface ResolvedSticky {
  readonly cookie: boolean;
  readonly subjectCookie: string | false | undefined;
  readonly maxAgeSeconds: number;
  readonly secure: boolean | 'auto';
  readonly httpOnly: boolean;
  /** Carriers whose marker is persisted into the version cookie (STK-02); empty by default. */
  readonly persistMarkers: ReadonlySet<MarkerSource>;
}

/** Inbound options with every default applied, validated once at construction. */
export interface ResolvedInbound<R> {
  readonly store: ConfigStore;
  readonly trust: TrustMode;
  /** Validated key bytes by key id (signed mode); the first entry is the default signer. */
  readonly keys: ReadonlyMap<string, Uint8Array<ArrayBuffer>> | undefined;
  readonly signingKid: string | undefined;
  /** Lower-cased marker header name. */
  readonly header: string;
  /** The cookie name written on plain http (`gray`, or `markers.cookie`). */
  readonly cookie: string | false;
  /**
   * Cookie names read for the marker, in order; the first present one is used and the others
   * are ignored: `__Host-<name>`, `__Secure-<name>`, `<name>` (`markerCookieNames`), or the
   * name alone when it already has a prefix.
   */
  readonly cookieNames: readonly string[];
  /** The cookie name written when the cookie carries `Secure` (`__Host-gray` by default). */
  readonly secureCookie: string | false;
  readonly query: string | false;
  readonly baggage: string | false;
  readonly precedence: readonly MarkerSource[];
  readonly allow: Allowlist | undefined;
  readonly sticky: ResolvedSticky | undefined;
  readonly debugHeader: boolean;
  /** The request header that carries a weighted decision's bucket, or undefined (off). */
  readonly bucketHeader: string | undefined;
  /** Edge mode: true for peers in `trustedProxies` (addresses or CIDRs, IPv4-mapped aware). */
  readonly isTrustedProxy: PeerMatcher;
  readonly attributes: ((req: R) => GrayAttributes | undefined) | undefined;
  readonly subject: ((req: R) => string | undefined) | undefined;
  readonly onDecision: ((decision: Decision, req: R) => void) | undefined;
  readonly now: () => number;
}

/** What option resolution needs from the platform. */
export interface ResolvePlatform {
  /** Header-name check. Default: the RFC 9110 `token` grammar. */
  readonly isHeaderName?: ((name: string) => boolean) | undefined;
  /** Regex engine used when `config` is a document with `regex` matchers. */
  readonly regex?: RegexEngine | undefined;
}

/** RFC 9110 §5.1 field names are `token`s. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Cookie, query and baggage names graylane accepts for its own carriers. */
const CARRIER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Applies defaults and validates. Throws `INVALID_OPTIONS` (bad option) or `INVALID_CONFIG`
 * (bad config document) — at construction, never per request.
 *
 * @example
 * ```ts
 * const resolved = resolveInboundOptions({ config, trust: 'edge' });
 * resolved.query; // false: edge mode never reads the query marker
 * ```
 */
export function resolveInboundOptions<R>(
  options: InboundOptions<R>,
  platform: ResolvePlatform = {},
): ResolvedInbound<R> {
  if (typeof options !== 'object' || options === null || options.config === undefined) {
    throw bad('options.config is required');
  }
  const trust = options.trust ?? 'open';
  if (trust !== 'open' && trust !== 'signed' && trust !== 'edge')
    throw bad(`unknown trust mode ${String(trust)}`);
  const markers = options.markers ?? {};
  const keys = options.keys === undefined ? undefined : compileSigningKeys(options.keys);
  if (trust === 'signed' && (!keys || keys.size === 0))
    throw bad('trust "signed" needs at least one key in options.keys');
  const signingKid = options.signingKid ?? (keys ? [...keys.keys()][0] : undefined);
  if (signingKid !== undefined && keys && !keys.has(signingKid))
    throw bad(`signingKid "${signingKid}" is not in options.keys`);
  return {
    store: resolveStore(options.config, platform.regex),
    trust,
    keys,
    signingKid,
    header: headerName(markers.header ?? DEFAULT_HEADER, platform.isHeaderName),
    ...cookieNames(markers.cookie),
    // MISC-04: a marker in a URL leaks into logs, history and Referer; only `open` reads it by
    // default. Signed mode reads a token there only when `markers.query` names the parameter.
    query: carrierName(markers.query, trust === 'open' ? DEFAULT_MARKER_KEY : false, 'query'),
    baggage: carrierName(markers.baggage, DEFAULT_MARKER_KEY, 'baggage'),
    precedence: precedence(options.precedence),
    allow:
      options.allowHosts === undefined ? undefined : createAllowlist({ allow: options.allowHosts }),
    sticky: sticky(options.sticky),
    debugHeader: options.debugHeader === true,
    bucketHeader:
      options.bucketHeader === undefined || options.bucketHeader === false
        ? undefined
        : headerName(
            options.bucketHeader === true ? BUCKET_HEADER : options.bucketHeader,
            platform.isHeaderName,
            'bucketHeader',
          ),
    isTrustedProxy: compileTrustedProxies(options.trustedProxies),
    attributes: options.attributes,
    subject: options.subject,
    onDecision: options.onDecision,
    now: options.now ?? Date.now,
  };
}

function resolveStore(
  config: InboundOptions<never>['config'],
  regex: RegexEngine | undefined,
): ConfigStore {
  return isConfigStore(config) ? config : createConfigStore({ initial: config, regex });
}

function headerName(
  name: string,
  check: ((name: string) => boolean) | undefined,
  option = 'markers.header',
): string {
  let ok: boolean;
  try {
    ok = typeof name === 'string' && TOKEN.test(name) && (check ? check(name) : true);
  } catch {
    ok = false;
  }
  if (!ok) throw bad(`${option} ${JSON.stringify(name)} is not a header name`);
  return name.toLowerCase();
}

function carrierName(
  value: string | false | undefined,
  fallback: string | false,
  what: string,
): string | false {
  const name = value ?? fallback;
  if (name !== false && (typeof name !== 'string' || !CARRIER_NAME.test(name)))
    throw bad(`markers.${what} must match ${String(CARRIER_NAME)}`);
  return name;
}

function cookieNames(
  value: string | false | undefined,
): Pick<ResolvedInbound<never>, 'cookie' | 'cookieNames' | 'secureCookie'> {
  const name = carrierName(value, DEFAULT_MARKER_KEY, 'cookie');
  if (name === false) return { cookie: false, cookieNames: [], secureCookie: false };
  // Every name the browser SDK writes for it (BC-01…03), a custom name too; the first one is
  // what the server writes under `Secure` (`__Host-gray`), as the browser does without a Domain.
  const names = markerCookieNames(name);
  return { cookie: name, cookieNames: names, secureCookie: names[0] as string };
}

function precedence(value: readonly MarkerSource[] | undefined): readonly MarkerSource[] {
  if (value == null) return MARKER_SOURCES; // `null` from plain JS: not given
  if (!Array.isArray(value)) throw bad(`precedence must be a list of ${MARKER_SOURCES.join(', ')}`);
  const seen = new Set<MarkerSource>();
  for (const s of value) {
    if (!MARKER_SOURCES.includes(s) || seen.has(s))
      throw bad(`precedence: ${String(s)} is unknown or repeated`);
    seen.add(s);
  }
  return [...seen];
}

function sticky(value: boolean | StickyOptions | undefined): ResolvedSticky | undefined {
  if (value == null || value === false) return undefined; // `null` from plain JS: not given
  // Anything else that is not `true` or an options object (`0`, `'yes'`, a list) is a mistake,
  // not a way to turn sticky cookies on.
  if (value !== true && (typeof value !== 'object' || Array.isArray(value)))
    throw bad('sticky must be a boolean or an options object');
  const o = value === true ? {} : value;
  const maxAge = o.maxAgeSeconds ?? DEFAULT_STICKY_MAX_AGE_SECONDS;
  if (!Number.isInteger(maxAge) || maxAge <= 0)
    throw bad('sticky.maxAgeSeconds must be a positive integer');
  const subjectCookie = o.subjectCookie;
  if (typeof subjectCookie === 'string' && !CARRIER_NAME.test(subjectCookie)) {
    throw bad(`sticky.subjectCookie must match ${String(CARRIER_NAME)}`);
  }
  return {
    cookie: o.cookie ?? true,
    subjectCookie,
    // BC-06: clamp, never exceed the 30-day cap.
    maxAgeSeconds: Math.min(maxAge, MAX_COOKIE_MAX_AGE_SECONDS),
    secure: o.secure ?? 'auto',
    httpOnly: o.httpOnly ?? true,
    persistMarkers: persistMarkers(o.persistMarkers),
  };
}

const TRANSIENT: readonly MarkerSource[] = ['header', 'query', 'baggage'];

function persistMarkers(value: StickyOptions['persistMarkers']): ReadonlySet<MarkerSource> {
  if (value === undefined || value === false) return new Set();
  if (value === true) return new Set(TRANSIENT);
  if (!Array.isArray(value) || value.some((s) => !TRANSIENT.includes(s as MarkerSource)))
    throw bad('sticky.persistMarkers must be a boolean or a list of header, query, baggage');
  return new Set(value as readonly MarkerSource[]);
}

function bad(message: string): GraylaneError {
  return new GraylaneError('INVALID_OPTIONS', `createGraylane: ${message}`);
}
