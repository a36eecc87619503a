import type { MarkerPolicy } from '../markers/parse.js';
import type { MarkerRejection } from '../reasons.js';
import { constantTimeEqual } from './bytes.js';
import { isSignableSubject, parseSignedToken, signedPayload, type SignedToken } from './token.js';

/** A synchronous HMAC-SHA256 (Node's `createHmac`); async platforms use the two-step form. */
export type HmacSha256 = (key: Uint8Array, data: Uint8Array) => Uint8Array;

/** The result of verifying a signed marker. Never thrown. */
export type SignedTokenResult =
  | {
      readonly ok: true;
      readonly version: string;
      readonly kid: string;
      /** Epoch ms. */
      readonly expiresAt: number;
    }
  | { readonly ok: false; readonly reason: MarkerRejection };

/** What a token is checked against once its MAC is known to be good or bad. */
export interface SignedCheckOptions {
  /** The versions to accept (a list or a config). Default: any well-formed label. */
  readonly versions?: readonly string[] | MarkerPolicy | undefined;
  /** Clock (epoch ms). Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** Options of {@link verifySignedToken}. */
export interface VerifySignedTokenOptions extends SignedCheckOptions {
  /** Validated keys (from `compileSigningKeys`). An unknown key id is a bad signature. */
  readonly keys: ReadonlyMap<string, Uint8Array>;
  readonly hmac: HmacSha256;
  /** The subject the token must be bound to; a token for another subject fails. */
  readonly subject?: string | undefined;
}

/**
 * Verifies a signed marker synchronously with an injected HMAC-SHA256. Bounded and total:
 * too long, malformed, unknown key id, flipped byte, truncated, another subject's token, expired,
 * undeclared version — each yields `{ ok: false, reason }` (HDR-13). The MAC is compared with
 * {@link constantTimeEqual} over 32 bytes after a strict, canonical base64url decode.
 *
 * @example
 * ```ts
 * const keys = compileSigningKeys({ k1: key });
 * verifySignedToken(token, { keys, hmac: (k, d) => createHmac('sha256', k).update(d).digest() });
 * ```
 */
export function verifySignedToken(
  token: unknown,
  options: VerifySignedTokenOptions,
): SignedTokenResult {
  try {
    const parsed = parseSignedToken(token);
    if (!parsed.ok) return parsed;
    const t = parsed.token;
    const key = options.keys.get(t.kid);
    if (key === undefined || !isSignableSubject(options.subject)) return BAD_SIGNATURE;
    const expected = options.hmac(key, signedPayload(t.version, t.exp, t.kid, options.subject));
    return finishSignedCheck(t, constantTimeEqual(expected, t.signature), options);
  } catch {
    return BAD_SIGNATURE;
  }
}

const BAD_SIGNATURE: SignedTokenResult = { ok: false, reason: 'bad_signature' };

/**
 * The checks after the MAC: a bad MAC is `bad_signature`; then expiry (`now >= exp` is
 * `expired`), then the version against the declared set (`unknown`). Async platforms call this
 * after `crypto.subtle.verify`, so both paths share one ordering of reasons.
 *
 * @example
 * ```ts
 * const ok = await crypto.subtle.verify('HMAC', key, t.signature, signedPayload(t.version, t.exp, t.kid));
 * finishSignedCheck(t, ok, { versions: config });
 * ```
 */
export function finishSignedCheck(
  token: SignedToken,
  macValid: boolean,
  options: SignedCheckOptions = {},
): SignedTokenResult {
  if (!macValid) return BAD_SIGNATURE;
  const now = (options.now ?? Date.now)();
  if (!(Math.floor(now / 1000) < token.exp)) return { ok: false, reason: 'expired' };
  if (!knownVersion(token.version, options.versions)) return { ok: false, reason: 'unknown' };
  return { ok: true, version: token.version, kid: token.kid, expiresAt: token.exp * 1000 };
}

function knownVersion(version: string, versions: SignedCheckOptions['versions']): boolean {
  if (versions === undefined) return true;
  if (Array.isArray(versions)) return versions.includes(version);
  return (versions as MarkerPolicy).hasVersion(version);
}
