import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import {
  MAX_SIGNED_MARKER_BYTES,
  VERSION_PATTERN,
  type MarkerPolicy,
  type MarkerRejection,
} from '@graylane/core';
import { KID_PATTERN, MAX_SIGNED_SUBJECT_LENGTH } from '../limits.js';
import { hmac, payload } from './hmac.js';
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
export type VerifyResult =
  | {
      readonly ok: true;
      readonly version: string;
      readonly kid: string;
      readonly expiresAt: number;
    }
  | { readonly ok: false; readonly reason: MarkerRejection };

/** A pre-validated key ring (from {@link compileKeyRing}); saves re-validating per request. */
export interface CompiledKeys {
  readonly kind: 'graylane.keys';
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** SHA-256 in unpadded base64url is exactly 43 characters. */
const SIG_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Expiry: unix seconds, up to 12 digits (year 33658); bounded before `Number()`. */
const EXP_PATTERN = /^(0|[1-9][0-9]{0,11})$/;

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
 * nothing throws (HDR-13). The signature is compared with `crypto.timingSafeEqual` over two
 * 32-byte buffers, after the expected length is checked.
 *
 * @example
 * ```ts
 * const r = verifyMarker(req.headers['x-gray-id'], { keys: { '2026-01': key }, versions: ['stable', 'beta'] });
 * if (r.ok) console.log(r.version, r.kid, new Date(r.expiresAt));
 * ```
 */
export function verifyMarker(token: unknown, options: VerifyMarkerOptions): VerifyResult {
  try {
    return check(token, options);
  } catch {
    return { ok: false, reason: 'bad_signature' };
  }
}

function check(token: unknown, options: VerifyMarkerOptions): VerifyResult {
  if (typeof token !== 'string') return { ok: false, reason: 'charset' };
  if (token.length > MAX_SIGNED_MARKER_BYTES) return { ok: false, reason: 'too_long' };
  const parts = token.split('.');
  if (parts.length !== 4) return { ok: false, reason: 'charset' };
  const [version, expText, kid, sig] = parts as [string, string, string, string];
  if (!VERSION_PATTERN.test(version) || !EXP_PATTERN.test(expText) || !KID_PATTERN.test(kid)) {
    return { ok: false, reason: 'charset' };
  }
  if (!SIG_PATTERN.test(sig)) return { ok: false, reason: 'bad_signature' };
  const ring = isCompiled(options.keys) ? options.keys.keys : compileKeys(options.keys);
  const key = ring.get(kid);
  if (!key) return { ok: false, reason: 'bad_signature' };
  const subject = options.subject;
  if (
    subject !== undefined &&
    (subject.length === 0 || subject.length > MAX_SIGNED_SUBJECT_LENGTH)
  ) {
    return { ok: false, reason: 'bad_signature' };
  }
  const exp = Number(expText);
  // Compare the canonical encodings: base64url decoders ignore the spare low bits of the last
  // character, so comparing decoded bytes would accept several spellings of one signature.
  const expected = Buffer.from(
    hmac(key, payload(version, exp, kid, subject)).toString('base64url'),
  );
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad_signature' };
  }
  if (Math.floor((options.now ?? Date.now)() / 1000) >= exp)
    return { ok: false, reason: 'expired' };
  if (!knownVersion(version, options.versions)) return { ok: false, reason: 'unknown' };
  return { ok: true, version, kid, expiresAt: exp * 1000 };
}

function isCompiled(keys: KeyRing | CompiledKeys): keys is CompiledKeys {
  return !(keys instanceof Map) && (keys as { kind?: unknown }).kind === 'graylane.keys';
}

function knownVersion(version: string, versions: VerifyMarkerOptions['versions']): boolean {
  if (versions === undefined) return true;
  if (Array.isArray(versions)) return versions.includes(version);
  return (versions as MarkerPolicy).hasVersion(version);
}
