import {
  DEFAULT_SIGNED_TTL_SECONDS,
  GraylaneError,
  compileSigningKeys,
  finishSignedCheck,
  formatSignedToken,
  isSignableSubject,
  isVersionLabel,
  parseSignedToken,
  signedPayload,
  signingKeyBytes,
  type KeyMaterial,
  type KeyRing,
  type MarkerPolicy,
  type SignedTokenResult,
} from '@graylane/core';
import { webHmacSha256, webHmacVerify } from './webcrypto.js';

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
 * Signs a version as a marker token `<version>.<exp>.<kid>.<base64url HMAC-SHA256>` with Web
 * Crypto — the same format and bytes as `@graylane/node`'s `signMarker` (core's
 * `spec/signed.json` vectors). Rejects with `INVALID_OPTIONS` on a bad version, key, kid or ttl.
 *
 * @example
 * ```ts
 * const token = await signMarker('beta', { key: env.GRAY_KEY, kid: '2026-01', ttlSeconds: 3600 });
 * ```
 */
export async function signMarker(version: string, options: SignMarkerOptions): Promise<string> {
  if (typeof options !== 'object' || options === null)
    throw new GraylaneError('INVALID_OPTIONS', 'signMarker: options are required ({ key, kid })');
  if (!isVersionLabel(version)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `signMarker: ${JSON.stringify(String(version)).slice(0, 40)} is not a version label`,
    );
  }
  const key = signingKeyBytes(options.kid, options.key);
  const ttl = options.ttlSeconds ?? DEFAULT_SIGNED_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0)
    throw new GraylaneError('INVALID_OPTIONS', 'signMarker: ttlSeconds must be a positive integer');
  if (!isSignableSubject(options.subject))
    throw new GraylaneError('INVALID_OPTIONS', 'signMarker: subject must be 1–256 characters');
  const exp = Math.floor((options.now ?? Date.now)() / 1000) + ttl;
  const mac = await webHmacSha256(key, signedPayload(version, exp, options.kid, options.subject));
  return formatSignedToken(version, exp, options.kid, mac);
}

/** Options of {@link verifyMarker}. */
export interface VerifyMarkerOptions {
  /** Key id → key. Read on every call: rotate by adding the new kid, then removing the old one. */
  readonly keys: KeyRing | ReadonlyMap<string, Uint8Array>;
  /** The versions to accept (a list or a config). Default: any well-formed label. */
  readonly versions?: readonly string[] | MarkerPolicy;
  /** The subject the token must be bound to. */
  readonly subject?: string | undefined;
  /** Clock (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Verifies a signed marker with Web Crypto. Bounded and total: any input — too long,
 * malformed, wrong key, flipped byte, expired, another subject's token — resolves to
 * `{ ok: false, reason }`; it never rejects (HDR-13).
 *
 * @example
 * ```ts
 * const r = await verifyMarker(request.headers.get('x-gray-id'), { keys: { '2026-01': env.GRAY_KEY } });
 * if (r.ok) console.log(r.version, new Date(r.expiresAt));
 * ```
 */
export async function verifyMarker(
  token: unknown,
  options: VerifyMarkerOptions,
): Promise<SignedTokenResult> {
  try {
    const parsed = parseSignedToken(token);
    if (!parsed.ok) return parsed;
    const t = parsed.token;
    // Compiled on every call, like Node's: a ring the caller rotates in place (a kid added or
    // removed) is honoured at once. The imported CryptoKeys are cached by content.
    const ring = compileSigningKeys(options.keys as KeyRing);
    const key = ring.get(t.kid);
    if (key === undefined || !isSignableSubject(options.subject))
      return { ok: false, reason: 'bad_signature' };
    const data = signedPayload(t.version, t.exp, t.kid, options.subject);
    const valid = await webHmacVerify(key, data, t.signature);
    return finishSignedCheck(t, valid, {
      versions: options.versions,
      now: options.now,
    });
  } catch {
    return { ok: false, reason: 'bad_signature' };
  }
}
