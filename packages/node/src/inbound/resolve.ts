import { validateHeaderName } from 'node:http';
import type { Buffer } from 'node:buffer';
import {
  GraylaneError,
  MARKER_SOURCES,
  MAX_COOKIE_MAX_AGE_SECONDS,
  createAllowlist,
  type Allowlist,
  type ConfigStore,
  type Decision,
  type MarkerSource,
} from '@graylane/core';
import { resolveStore } from '../config/store.js';
import { DEFAULT_HEADER, DEFAULT_MARKER_KEY, DEFAULT_STICKY_MAX_AGE_SECONDS } from '../limits.js';
import type { GrayAttributes, GraylaneOptions, TrustMode } from '../options.js';
import { compileKeyRing, type CompiledKeys } from '../signing/verify.js';

/** Sticky settings with every default applied. */
export interface ResolvedSticky {
  readonly cookie: boolean;
  readonly subjectCookie: string | false | undefined;
  readonly maxAgeSeconds: number;
  readonly secure: boolean | 'auto';
  readonly httpOnly: boolean;
}

/** Options with every default applied, validated once at construction. */
export interface ResolvedOptions<R> {
  readonly store: ConfigStore;
  readonly trust: TrustMode;
  readonly keys: CompiledKeys | undefined;
  readonly signingKid: string | undefined;
  readonly signingKey: Buffer | undefined;
  readonly header: string;
  readonly cookie: string | false;
  readonly query: string | false;
  readonly baggage: string | false;
  readonly precedence: readonly MarkerSource[];
  readonly allow: Allowlist | undefined;
  readonly sticky: ResolvedSticky | undefined;
  readonly debugHeader: boolean;
  readonly trustedProxies: ReadonlySet<string>;
  readonly attributes: ((req: R) => GrayAttributes | undefined) | undefined;
  readonly subject: ((req: R) => string | undefined) | undefined;
  readonly onDecision: ((decision: Decision, req: R) => void) | undefined;
  readonly now: () => number;
}

/** Options as the engine takes them: callbacks receive whatever request object the adapter has. */
export type EngineOptions<R> = Omit<GraylaneOptions, 'attributes' | 'subject' | 'onDecision'> & {
  readonly attributes?: ((req: R) => GrayAttributes | undefined) | undefined;
  readonly subject?: ((req: R) => string | undefined) | undefined;
  readonly onDecision?: ((decision: Decision, req: R) => void) | undefined;
};

/** @internal Applies defaults and validates; throws `INVALID_OPTIONS` / `INVALID_CONFIG`. */
export function resolveOptions<R>(options: EngineOptions<R>): ResolvedOptions<R> {
  if (typeof options !== 'object' || options === null || options.config === undefined) {
    throw bad('options.config is required');
  }
  const trust = options.trust ?? 'open';
  if (trust !== 'open' && trust !== 'signed' && trust !== 'edge')
    throw bad(`unknown trust mode ${String(trust)}`);
  const markers = options.markers ?? {};
  const keys = options.keys === undefined ? undefined : compileKeyRing(options.keys);
  if (trust === 'signed' && (!keys || keys.keys.size === 0))
    throw bad('trust "signed" needs at least one key in options.keys');
  const signingKid = options.signingKid ?? (keys ? [...keys.keys.keys()][0] : undefined);
  if (signingKid !== undefined && keys && !keys.keys.has(signingKid))
    throw bad(`signingKid "${signingKid}" is not in options.keys`);
  return {
    store: resolveStore(options.config),
    trust,
    keys,
    signingKid,
    signingKey: signingKid === undefined ? undefined : keys?.keys.get(signingKid),
    header: headerName(markers.header ?? DEFAULT_HEADER),
    cookie: carrierName(markers.cookie, DEFAULT_MARKER_KEY, 'cookie'),
    query: carrierName(markers.query, trust === 'edge' ? false : DEFAULT_MARKER_KEY, 'query'),
    baggage: carrierName(markers.baggage, DEFAULT_MARKER_KEY, 'baggage'),
    precedence: precedence(options.precedence),
    allow:
      options.allowHosts === undefined ? undefined : createAllowlist({ allow: options.allowHosts }),
    sticky: sticky(options.sticky),
    debugHeader: options.debugHeader === true,
    trustedProxies: new Set(options.trustedProxies ?? []),
    attributes: options.attributes,
    subject: options.subject,
    onDecision: options.onDecision,
    now: options.now ?? Date.now,
  };
}

function headerName(name: string): string {
  try {
    validateHeaderName(name);
  } catch (cause) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `markers.header ${JSON.stringify(name)} is not a header name`,
      { cause },
    );
  }
  return name.toLowerCase();
}

const CARRIER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function carrierName(
  value: string | false | undefined,
  fallback: string | false,
  what: string,
): string | false {
  const name = value ?? fallback;
  if (name !== false && !CARRIER_NAME.test(name))
    throw bad(`markers.${what} must match ${String(CARRIER_NAME)}`);
  return name;
}

function precedence(value: readonly MarkerSource[] | undefined): readonly MarkerSource[] {
  if (value === undefined) return MARKER_SOURCES;
  const seen = new Set<MarkerSource>();
  for (const s of value) {
    if (!MARKER_SOURCES.includes(s) || seen.has(s))
      throw bad(`precedence: ${String(s)} is unknown or repeated`);
    seen.add(s);
  }
  return [...seen];
}

function sticky(value: GraylaneOptions['sticky']): ResolvedSticky | undefined {
  if (value === undefined || value === false) return undefined;
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
  };
}

function bad(message: string): GraylaneError {
  return new GraylaneError('INVALID_OPTIONS', `createGraylane: ${message}`);
}
