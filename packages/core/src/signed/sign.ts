import { GraylaneError } from '../errors.js';
import { isVersionLabel } from '../version.js';
import { KID_PATTERN, formatSignedToken, isSignableSubject, signedPayload } from './token.js';
import type { HmacSha256 } from './verify.js';

/** What {@link signToken} needs besides the HMAC. */
export interface SignTokenInput {
  readonly version: string;
  /** Expiry, unix seconds. */
  readonly exp: number;
  readonly kid: string;
  /** Validated key bytes (from `compileSigningKeys`). */
  readonly key: Uint8Array;
  readonly subject?: string | undefined;
}

/**
 * Signs a version into a marker token with an injected synchronous HMAC-SHA256. Throws
 * `INVALID_OPTIONS` on a bad version, expiry or subject (signing runs at configuration or
 * decision time with values graylane produced, never with request text).
 *
 * @example
 * ```ts
 * signToken({ version: 'beta', exp: 1800003600, kid: 'k1', key }, hmac); // 'beta.1800003600.k1.…'
 * ```
 */
export function signToken(input: SignTokenInput, hmac: HmacSha256): string {
  const { version, exp, kid, subject } = input;
  if (!isVersionLabel(version)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `sign: ${JSON.stringify(String(version)).slice(0, 40)} is not a version label`,
    );
  }
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
    throw new GraylaneError('INVALID_OPTIONS', `sign: key id must match ${String(KID_PATTERN)}`);
  }
  if (!Number.isSafeInteger(exp) || exp < 0 || exp > 999_999_999_999) {
    throw new GraylaneError('INVALID_OPTIONS', 'sign: exp must be unix seconds (≤ 12 digits)');
  }
  if (!isSignableSubject(subject)) {
    throw new GraylaneError('INVALID_OPTIONS', 'sign: subject must be 1–256 characters');
  }
  return formatSignedToken(
    version,
    exp,
    kid,
    hmac(input.key, signedPayload(version, exp, kid, subject)),
  );
}
