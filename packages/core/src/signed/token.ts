import { MAX_SIGNED_MARKER_BYTES, MAX_SIGNED_SUBJECT_LENGTH } from '../limits.js';
import type { MarkerRejection } from '../reasons.js';
import { VERSION_PATTERN } from '../version.js';
import { decodeBase64Url, encodeBase64Url } from './base64url.js';
import { utf8Encode } from './bytes.js';

/**
 * The signed marker format (`spec/signed.json` holds golden vectors):
 * `<version>.<exp>.<kid>.<sig>` where `exp` is unix seconds, `kid` names the key and
 * `sig = base64url(HMAC-SHA256(key, utf8(version "." exp "." kid ["." subject])))`, unpadded.
 * The subject (e.g. a user id) is bound into the MAC but not carried in the token.
 */

/** Key ids: short tokens safe inside a dotted signed marker. */
export const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
/** Expiry: unix seconds, up to 12 digits (year 33658); bounded before `Number()`. */
const EXP_PATTERN = /^(0|[1-9][0-9]{0,11})$/;
/** SHA-256 in unpadded base64url is exactly 43 characters. */
const SIG_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A structurally valid signed marker, not yet verified. */
export interface SignedToken {
  readonly version: string;
  /** Expiry, unix seconds (exclusive: the token is expired at `exp`). */
  readonly exp: number;
  readonly kid: string;
  /** The 32 MAC bytes (canonically encoded in the token). */
  readonly signature: Uint8Array<ArrayBuffer>;
}

/** The result of {@link parseSignedToken}. Never thrown. */
export type ParsedSignedToken =
  | { readonly ok: true; readonly token: SignedToken }
  | { readonly ok: false; readonly reason: MarkerRejection };

/**
 * Parses the token format without verifying it: bounded (≤ 256 bytes checked first), total, no
 * exceptions. `charset` for a malformed version, expiry or key id; `bad_signature` for a MAC that
 * is not 43 canonical base64url characters; `too_long` over the budget.
 *
 * @example
 * ```ts
 * const p = parseSignedToken('beta.1800003600.k1.' + sig);
 * if (p.ok) p.token.kid; // 'k1'
 * ```
 */
export function parseSignedToken(token: unknown): ParsedSignedToken {
  if (typeof token !== 'string') return { ok: false, reason: 'charset' };
  if (token.length > MAX_SIGNED_MARKER_BYTES) return { ok: false, reason: 'too_long' };
  const parts = token.split('.');
  if (parts.length !== 4) return { ok: false, reason: 'charset' };
  const [version, expText, kid, sig] = parts as [string, string, string, string];
  if (!VERSION_PATTERN.test(version) || !EXP_PATTERN.test(expText) || !KID_PATTERN.test(kid)) {
    return { ok: false, reason: 'charset' };
  }
  const signature = SIG_PATTERN.test(sig) ? decodeBase64Url(sig) : undefined;
  if (signature === undefined) return { ok: false, reason: 'bad_signature' };
  return { ok: true, token: { version, exp: Number(expText), kid, signature } };
}

/**
 * True when `subject` may be bound into a signature: undefined (unbound) or 1–256 characters.
 *
 * @example
 * ```ts
 * isSignableSubject('user-42'); // true
 * isSignableSubject('');        // false
 * ```
 */
export function isSignableSubject(subject: string | undefined): boolean {
  return (
    subject === undefined ||
    (typeof subject === 'string' &&
      subject.length > 0 &&
      subject.length <= MAX_SIGNED_SUBJECT_LENGTH)
  );
}

/**
 * The bytes the MAC covers: `utf8(version "." exp "." kid ["." subject])`.
 *
 * @example
 * ```ts
 * const data = signedPayload('beta', 1800003600, 'k1', 'user-42');
 * const sig = await crypto.subtle.sign('HMAC', key, data);
 * ```
 */
export function signedPayload(
  version: string,
  exp: number,
  kid: string,
  subject?: string | undefined,
): Uint8Array<ArrayBuffer> {
  const text =
    subject === undefined ? `${version}.${exp}.${kid}` : `${version}.${exp}.${kid}.${subject}`;
  return utf8Encode(text);
}

/**
 * Formats a token from its parts and the 32-byte MAC over {@link signedPayload}.
 *
 * @example
 * ```ts
 * formatSignedToken('beta', 1800003600, 'k1', mac); // 'beta.1800003600.k1.<43 chars>'
 * ```
 */
export function formatSignedToken(
  version: string,
  exp: number,
  kid: string,
  signature: Uint8Array,
): string {
  return `${version}.${exp}.${kid}.${encodeBase64Url(signature)}`;
}
