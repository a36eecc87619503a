import { DEFAULT_SIGNED_TTL_SECONDS, GraylaneError, signToken } from '@graylane/core';
import { nodeHmac } from './hmac.js';
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
 * `trust: 'signed'` servers (QA links, debug tokens, the CLI). The format is core's
 * (`@graylane/core` `spec/signed.json`), so the Web engine verifies these tokens too. Throws
 * `INVALID_OPTIONS` on a bad version, key, kid, subject or ttl — it runs at configuration time,
 * never per request.
 *
 * @example
 * ```ts
 * const token = signMarker('beta', { key: process.env.GRAY_KEY!, kid: '2026-01', ttlSeconds: 3600 });
 * await fetch(url, { headers: { 'x-gray-id': token } });
 * ```
 */
export function signMarker(version: string, options: SignMarkerOptions): string {
  if (typeof options !== 'object' || options === null)
    throw new GraylaneError('INVALID_OPTIONS', 'signMarker: options are required ({ key, kid })');
  const key = keyBytes(options.kid, options.key);
  const ttl = options.ttlSeconds ?? DEFAULT_SIGNED_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0) {
    throw new GraylaneError('INVALID_OPTIONS', 'signMarker: ttlSeconds must be a positive integer');
  }
  const exp = Math.floor((options.now ?? Date.now)() / 1000) + ttl;
  try {
    return signToken({ version, exp, kid: options.kid, key, subject: options.subject }, nodeHmac);
  } catch (cause) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `signMarker: ${(cause as Error).message.replace(/^\[graylane\] sign: /, '')}`,
      { cause },
    );
  }
}
