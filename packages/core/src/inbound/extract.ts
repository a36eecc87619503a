import type { GrayConfig } from '../config/types.js';
import { MAX_SIGNED_MARKER_BYTES } from '../limits.js';
import { parseMarker, trimOws } from '../markers/parse.js';
import type { KeyRead } from '../markers/read.js';
import type { MarkerRejection, MarkerSource } from '../reasons.js';
import type { RejectedMarker } from '../rules/types.js';
import { finishSignedCheck } from '../signed/verify.js';
import { isSignableSubject, parseSignedToken, signedPayload } from '../signed/token.js';
import type { SignedToken } from '../signed/token.js';
import { VERSION_PATTERN } from '../version.js';
import type { ResolvedInbound } from './resolve.js';
import type { CarrierView } from './view.js';

/** The marker found on a request, and what was ignored on the way. */
export interface Extraction {
  readonly version: string | undefined;
  readonly source: MarkerSource | undefined;
  /** Signed mode: the accepted token's expiry (epoch ms) and key id. */
  readonly token: { readonly expiresAt: number; readonly kid: string } | undefined;
  /** Which marker cookie name was read, when the cookie carrier was (`__Host-gray`, `__Secure-gray` or `gray`). */
  readonly cookieName?: string | undefined;
  /** The first ignored marker (reported as the decision reason if the default is served). */
  readonly rejected: RejectedMarker | undefined;
  /** Every ignored marker, in precedence order (each one counted). */
  readonly rejections: readonly RejectedMarker[];
  /**
   * True when no marker decided and the marker cookie read was several cookies of its name that
   * differ: set at other paths or for a parent domain, which a `Set-Cookie` cannot replace.
   */
  readonly cookieConflict?: boolean | undefined;
}

/**
 * Checks one MAC: true when `signature` is HMAC-SHA256(`key`, `data`). Synchronous; an async
 * platform answers from results it awaited beforehand (see the engine's `prepare`/`complete`).
 */
export type MacCheck = (
  token: SignedToken,
  key: Uint8Array<ArrayBuffer>,
  data: Uint8Array<ArrayBuffer>,
) => boolean;

/** Per-request trust inputs. */
export interface TrustContext {
  /** False in edge mode for peers outside `trustedProxies`: every client marker is ignored. */
  readonly honourClient: boolean;
  /** The subject signed tokens must be bound to (signed mode). */
  readonly subject: string | undefined;
  readonly now: number;
  readonly checkMac: MacCheck;
}

type Outcome =
  | { ok: true; version: string; token?: { expiresAt: number; kid: string } }
  | { ok: false; reason: MarkerRejection }
  | undefined;

/**
 * Reads the marker following the precedence order. Bounded (core's readers cap every carrier
 * before decoding) and total: it never throws, and an invalid marker is treated as absent
 * (I1, I3, PREC-02).
 */
export function extract(
  view: CarrierView,
  opts: ResolvedInbound<never>,
  config: GrayConfig,
  trust: TrustContext,
): Extraction {
  const rejections: RejectedMarker[] = [];
  for (const source of opts.precedence) {
    let outcome: Outcome;
    try {
      outcome = readSource(source, view, opts, config, trust);
    } catch {
      outcome = { ok: false, reason: 'charset' };
    }
    if (outcome === undefined) continue;
    if (outcome.ok)
      return {
        version: outcome.version,
        source,
        token: outcome.token,
        cookieName: source === 'cookie' ? firstCookie(view, opts.cookieNames).name : undefined,
        rejected: rejections[0],
        rejections,
      };
    rejections.push({ source, reason: outcome.reason });
  }
  return {
    version: undefined,
    source: undefined,
    token: undefined,
    rejected: rejections[0],
    rejections,
    cookieConflict:
      rejections.some((r) => r.source === 'cookie') &&
      firstCookie(view, opts.cookieNames).read.kind === 'ambiguous',
  };
}

function readSource(
  source: MarkerSource,
  view: CarrierView,
  opts: ResolvedInbound<never>,
  config: GrayConfig,
  trust: TrustContext,
): Outcome {
  let raw: string | readonly string[] | undefined;
  switch (source) {
    case 'header':
      raw = view.header(opts.header);
      if (raw === undefined) return undefined;
      if (!trust.honourClient) return isBlank(raw) ? undefined : { ok: false, reason: 'untrusted' };
      return opts.trust === 'signed'
        ? signed(rawHeader(raw), config, opts, trust)
        : plain(raw, config);
    case 'cookie':
      return keyed(firstCookie(view, opts.cookieNames).read, config, opts, trust);
    case 'query':
      return opts.query === false ? undefined : keyed(view.query(opts.query), config, opts, trust);
    case 'baggage':
      return opts.baggage === false
        ? undefined
        : keyed(view.baggage(opts.baggage), config, opts, trust);
  }
}

function keyed(
  read: KeyRead,
  config: GrayConfig,
  opts: ResolvedInbound<never>,
  trust: TrustContext,
): Outcome {
  switch (read.kind) {
    case 'absent':
      return undefined;
    case 'ambiguous':
      return trust.honourClient
        ? { ok: false, reason: 'ambiguous' }
        : { ok: false, reason: 'untrusted' };
    case 'too_long':
      return trust.honourClient
        ? { ok: false, reason: 'too_long' }
        : { ok: false, reason: 'untrusted' };
    case 'value':
      if (isBlank(read.value)) return undefined;
      if (!trust.honourClient) return { ok: false, reason: 'untrusted' };
      return opts.trust === 'signed'
        ? signed(read.value, config, opts, trust)
        : plain(read.value, config);
  }
}

function plain(raw: string | readonly string[], config: GrayConfig): Outcome {
  const r = parseMarker(raw, config);
  if (r.kind === 'absent') return undefined;
  return r.kind === 'valid' ? { ok: true, version: r.version } : { ok: false, reason: r.reason };
}

/** HDR-13: only a token with a valid HMAC, unexpired, from a known key id, for this subject. */
function signed(
  raw: string | undefined,
  config: GrayConfig,
  opts: ResolvedInbound<never>,
  trust: TrustContext,
): Outcome {
  if (raw === undefined) return { ok: false, reason: 'ambiguous' };
  if (raw.length > MAX_SIGNED_MARKER_BYTES) return { ok: false, reason: 'too_long' };
  const text = trimOws(raw);
  if (text === '') return undefined;
  if (text.includes(',')) return { ok: false, reason: 'ambiguous' };
  // A bare, well-formed label is a client hint this mode does not honour.
  if (VERSION_PATTERN.test(text)) return { ok: false, reason: 'untrusted' };
  const parsed = parseSignedToken(text);
  if (!parsed.ok) return parsed;
  const t = parsed.token;
  const key = opts.keys?.get(t.kid);
  if (key === undefined || !isSignableSubject(trust.subject))
    return { ok: false, reason: 'bad_signature' };
  const mac = trust.checkMac(t, key, signedPayload(t.version, t.exp, t.kid, trust.subject));
  const result = finishSignedCheck(t, mac, { versions: config, now: () => trust.now });
  return result.ok
    ? { ok: true, version: result.version, token: { expiresAt: result.expiresAt, kid: t.kid } }
    : result;
}

/**
 * The first marker cookie present, in the configured order (`__Host-gray`, `__Secure-gray`,
 * `gray`): a sibling subdomain can plant `gray` (and, from https, `__Secure-gray` for the parent
 * domain) but never `__Host-gray`, so the strongest name present decides and the others are not
 * read (issue 15, CK-02).
 */
function firstCookie(
  view: CarrierView,
  names: readonly string[],
): { read: KeyRead; name: string | undefined } {
  for (const name of names) {
    const read = view.cookie(name);
    if (read.kind !== 'absent') return { read, name };
  }
  return { read: ABSENT, name: undefined };
}

const ABSENT: KeyRead = { kind: 'absent' };

/** One header value, or undefined when the platform delivered several (ambiguous). */
function rawHeader(raw: string | readonly string[]): string | undefined {
  if (typeof raw === 'string') return raw;
  return raw.length === 1 ? raw[0] : undefined;
}

function isBlank(raw: string | readonly string[]): boolean {
  return typeof raw === 'string' ? trimOws(raw) === '' : raw.length === 0;
}
