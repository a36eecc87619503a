import { describe, expect, it } from 'vitest';
import { signMarker } from './sign.js';
import { compileKeyRing, verifyMarker } from './verify.js';

const K1 = 'k1-secret-key-material-32-bytes!';
const K2 = 'k2-secret-key-material-32-bytes!';
const NOW = 1_800_000_000_000;
const now = () => NOW;

describe('HDR-13 signMarker / verifyMarker', () => {
  const token = signMarker('beta', { key: K1, kid: 'k1', ttlSeconds: 60, now });
  const keys = { k1: K1, k2: K2 };

  it('HDR-13 a valid signature is accepted', () => {
    expect(verifyMarker(token, { keys, now, versions: ['stable', 'beta'] })).toEqual({
      ok: true,
      version: 'beta',
      kid: 'k1',
      expiresAt: (NOW / 1000 + 60) * 1000,
    });
  });

  it('HDR-13 a flipped byte anywhere is rejected', () => {
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === 'A' ? 'B' : 'A';
      const flipped = token.slice(0, i) + c + token.slice(i + 1);
      expect(verifyMarker(flipped, { keys, now }).ok).toBe(false);
    }
  });

  it('HDR-13 expired, rotated-out key, other subject, truncated, non-base64url and 10 KB are rejected', () => {
    expect(verifyMarker(token, { keys, now: () => NOW + 60_000 })).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(verifyMarker(token, { keys: { k2: K2 }, now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    const forA = signMarker('beta', { key: K1, kid: 'k1', subject: 'user-a', now });
    expect(verifyMarker(forA, { keys, subject: 'user-a', now }).ok).toBe(true);
    expect(verifyMarker(forA, { keys, subject: 'user-b', now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyMarker(forA, { keys, now })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyMarker(token.slice(0, -1), { keys, now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyMarker(`${token.slice(0, -2)}+/`, { keys, now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyMarker(`beta.1.k1.${'A'.repeat(10_000)}`, { keys, now })).toEqual({
      ok: false,
      reason: 'too_long',
    });
    expect(verifyMarker('beta', { keys, now })).toEqual({ ok: false, reason: 'charset' });
    expect(verifyMarker(undefined, { keys, now })).toEqual({ ok: false, reason: 'charset' });
  });

  it('HDR-13 rotation by kid: tokens from both keys verify while both are configured', () => {
    const t2 = signMarker('beta', { key: K2, kid: 'k2', now });
    const ring = compileKeyRing(keys);
    expect(verifyMarker(token, { keys: ring, now }).ok).toBe(true);
    expect(verifyMarker(t2, { keys: ring, now }).ok).toBe(true);
    expect(verifyMarker(t2, { keys: { k1: K1 }, now }).ok).toBe(false);
  });

  it('HDR-13 an unknown version with a valid signature is "unknown"', () => {
    expect(verifyMarker(token, { keys, now, versions: ['stable'] })).toEqual({
      ok: false,
      reason: 'unknown',
    });
  });

  it('configuration mistakes throw at sign time', () => {
    expect(() => signMarker('Beta', { key: K1, kid: 'k1' })).toThrow(/INVALID|not a version/);
    expect(() => signMarker('beta', { key: 'short', kid: 'k1' })).toThrow(/shorter/);
    expect(() => signMarker('beta', { key: K1, kid: 'k.1' })).toThrow(/key id/);
  });
});
