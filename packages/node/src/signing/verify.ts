import type { Buffer } from 'node:buffer';
import { verifySignedToken, type MarkerPolicy, type SignedTokenResult } from '@graylane/core';
import { nodeHmac } from './hmac.js';
import { compileKeys, type KeyRing } from './keys.js';

/** Options of {@link verifyMarker}. */
export interface VerifyMarkerOptions {
  /** Key id → key. Rotate by adding the new key, switching signers, then removing the old one. */
  readonly keys: KeyRing | CompiledKeys;
  /** The versions to accept (a list or a config). Default: any well-formed label. */
  readonly versions?: readonly string[] | MarkerPolicy;
  /** The subject the token must be bound to; tokens bound to another subject fail. */
  readonly subject?: string | undefined;
  /** Clock (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
}

/** The result of {@link verifyMarker}. Never thrown. */
export type VerifyResult = SignedTokenResult;

/** A pre-validated key ring (from {@link compileKeyRing}); saves re-validating per request. */
export interface CompiledKeys {
  readonly kind: 'graylane.keys';
  readonly keys: ReadonlyMap<string, Buffer>;
}

/**
 * Validates a key ring once (throws `INVALID_OPTIONS` on a short key or a bad kid).
 *
 * @example
 * ```ts
 * const keys = compileKeyRing({ '2026-01': process.env.GRAY_KEY! });
 * verifyMarker(token, { keys });
 * ```
 */
export function compileKeyRing(ring: KeyRing): CompiledKeys {
  return { kind: 'graylane.keys', keys: compileKeys(ring) };
}

/**
 * Verifies a signed marker token. Bounded and total: any input — too long, malformed, wrong key,
 * flipped byte, truncated, expired, another subject's token — yields `{ ok: false, reason }`;
 * nothing throws (HDR-13). Core's verifier decodes the MAC strictly (canonical base64url only)
 * and compares the 32 bytes in constant time; the golden vectors are `@graylane/core`'s
 * `spec/signed.json`.
 *
 * @example
 * ```ts
 * const r = verifyMarker(req.headers['x-gray-id'], { keys: { '2026-01': key }, versions: ['stable', 'beta'] });
 * if (r.ok) console.log(r.version, r.kid, new Date(r.expiresAt));
 * ```
 */
export function verifyMarker(token: unknown, options: VerifyMarkerOptions): VerifyResult {
  try {
    const ring = isCompiled(options.keys) ? options.keys.keys : compileKeys(options.keys);
    return verifySignedToken(token, {
      keys: ring,
      hmac: nodeHmac,
      versions: options.versions,
      subject: options.subject,
      now: options.now,
    });
  } catch {
    return { ok: false, reason: 'bad_signature' };
  }
}

function isCompiled(keys: KeyRing | CompiledKeys): keys is CompiledKeys {
  return !(keys instanceof Map) && (keys as { kind?: unknown }).kind === 'graylane.keys';
}
