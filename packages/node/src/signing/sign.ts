import { GraylaneError, isVersionLabel } from '@graylane/core';
import { DEFAULT_SIGNED_TTL_SECONDS, MAX_SIGNED_SUBJECT_LENGTH } from '../limits.js';
import { hmac, payload } from './hmac.js';
import { keyBytes, type KeyMaterial } from './keys.js';

/** Options of {@link signMarker}. */
export interface SignMarkerOptions {
  /** The HMAC-SHA256 key (≥ 16 bytes). */
  readonly key: KeyMaterial;
  /** Its id (`[A-Za-z0-9_-]{1,32}`), so verifiers can rotate keys. */
  readonly kid: string;
  /** Lifetime. Default 7200 s. */
  readonly ttlSeconds?: number;
  /** Binds the token to a subject (e.g. a user id): it then verifies only for that subject. */
  readonly subject?: string;
  /** Clock (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Signs a version as a marker token `<version>.<exp>.<kid>.<base64url HMAC-SHA256>` for
 * `trust: 'signed'` servers (QA links, debug tokens, the CLI). Throws `INVALID_OPTIONS` on a
 * bad version, key, kid or ttl — it runs at configuration time, never per request.
 *
 * @example
 * ```ts
 * const token = signMarker('beta', { key: process.env.GRAY_KEY!, kid: '2026-01', ttlSeconds: 3600 });
 * await fetch(url, { headers: { 'x-gray-id': token } });
 * ```
 */
export function signMarker(version: string, options: SignMarkerOptions): string {
  if (!isVersionLabel(version)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `signMarker: ${JSON.stringify(String(version)).slice(0, 40)} is not a version label`,
    );
  }
  const key = keyBytes(options.kid, options.key);
  const ttl = options.ttlSeconds ?? DEFAULT_SIGNED_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0) {
    throw new GraylaneError('INVALID_OPTIONS', 'signMarker: ttlSeconds must be a positive integer');
  }
  const subject = options.subject;
  if (
    subject !== undefined &&
    (subject.length === 0 || subject.length > MAX_SIGNED_SUBJECT_LENGTH)
  ) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `signMarker: subject must be 1–${MAX_SIGNED_SUBJECT_LENGTH} characters`,
    );
  }
  const exp = Math.floor((options.now ?? Date.now)() / 1000) + ttl;
  const sig = hmac(key, payload(version, exp, options.kid, subject)).toString('base64url');
  return `${version}.${exp}.${options.kid}.${sig}`;
}
