import { createHmac, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url } from './base64url.js';
import { constantTimeEqual, utf8Encode } from './bytes.js';
import { compileSigningKeys } from './keys.js';
import { signToken } from './sign.js';
import { parseSignedToken, signedPayload } from './token.js';
import { finishSignedCheck, verifySignedToken, type SignedTokenResult } from './verify.js';

interface Vectors {
  keys: { kid: string; text?: string; hex: string }[];
  versions: string[];
  vectors: {
    name: string;
    token: string;
    subject: string | null;
    now: number;
    expected: SignedTokenResult;
  }[];
  sign: { kid: string; version: string; exp: number; subject: string | null; token: string }[];
}

const spec = JSON.parse(
  readFileSync(new URL('../../spec/signed.json', import.meta.url), 'utf8'),
) as Vectors;
const hexKey = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const keys = compileSigningKeys(new Map(spec.keys.map((k) => [k.kid, k.text ?? hexKey(k.hex)])));
const hmac = (key: Uint8Array, data: Uint8Array) =>
  new Uint8Array(createHmac('sha256', key).update(data).digest());

describe('HDR-13 signed-marker golden vectors (spec/signed.json)', () => {
  it('covers every rejection reason and both key encodings', () => {
    const reasons = new Set(spec.vectors.map((v) => (v.expected.ok ? 'ok' : v.expected.reason)));
    expect([...reasons].sort()).toEqual([
      'bad_signature',
      'charset',
      'expired',
      'ok',
      'too_long',
      'unknown',
    ]);
    expect(spec.keys.some((k) => k.text === undefined)).toBe(true);
    for (const k of spec.keys) expect([...(keys.get(k.kid) ?? [])]).toEqual([...hexKey(k.hex)]);
  });

  it.each(spec.vectors.map((v) => [v.name, v] as const))('HDR-13 sync HMAC: %s', (_name, v) => {
    const r = verifySignedToken(v.token, {
      keys,
      hmac,
      versions: spec.versions,
      subject: v.subject ?? undefined,
      now: () => v.now,
    });
    expect(r).toEqual(v.expected);
  });

  it.each(spec.vectors.map((v) => [v.name, v] as const))(
    'HDR-13 Web Crypto (async verify, then finishSignedCheck): %s',
    async (_name, v) => {
      const parsed = parseSignedToken(v.token);
      let r: SignedTokenResult;
      if (!parsed.ok) r = parsed;
      else {
        const t = parsed.token;
        const raw = keys.get(t.kid);
        const subject = v.subject ?? undefined;
        const subjectOk = subject === undefined || (subject.length > 0 && subject.length <= 256);
        let valid = false;
        if (raw && subjectOk) {
          const key = await webcrypto.subtle.importKey(
            'raw',
            raw,
            { name: 'HMAC', hash: 'SHA-256' },
            false,
            ['verify'],
          );
          valid = await webcrypto.subtle.verify(
            'HMAC',
            key,
            t.signature,
            signedPayload(t.version, t.exp, t.kid, subject),
          );
        }
        r = finishSignedCheck(t, valid, { versions: spec.versions, now: () => v.now });
      }
      expect(r).toEqual(v.expected);
    },
  );

  it.each(spec.sign.map((s) => [s.kid, s.subject, s] as const))(
    'HDR-13 signToken reproduces the signing vector (%s, subject %s)',
    (_kid, _subject, s) => {
      const key = keys.get(s.kid) as Uint8Array;
      const input = { version: s.version, exp: s.exp, kid: s.kid, key };
      expect(signToken(s.subject === null ? input : { ...input, subject: s.subject }, hmac)).toBe(
        s.token,
      );
    },
  );

  it('signToken refuses bad versions, expiries, key ids and subjects (configuration time)', () => {
    const key = keys.get('k1') as Uint8Array;
    const base = { version: 'beta', exp: 1, kid: 'k1', key };
    expect(() => signToken({ ...base, version: 'Beta' }, hmac)).toThrow(/version label/);
    expect(() => signToken({ ...base, exp: -1 }, hmac)).toThrow(/exp/);
    expect(() => signToken({ ...base, exp: 1.5 }, hmac)).toThrow(/exp/);
    expect(() => signToken({ ...base, kid: 'k.1' }, hmac)).toThrow(/key id/);
    expect(() => signToken({ ...base, subject: '' }, hmac)).toThrow(/subject/);
  });

  it('compileSigningKeys refuses short keys and bad key ids, keeps ring order', () => {
    expect(() => compileSigningKeys({ k1: 'short' })).toThrow(/shorter than 16/);
    expect(() => compileSigningKeys({ 'k.1': 'x'.repeat(32) })).toThrow(/key id/);
    expect(() => compileSigningKeys(null as never)).toThrow(/Map or a record/);
    expect([...compileSigningKeys({ b: 'x'.repeat(16), a: 'y'.repeat(16) }).keys()]).toEqual([
      'b',
      'a',
    ]);
  });

  it('a throwing HMAC is a bad signature, never an exception (I1)', () => {
    const token = spec.vectors[0]?.token;
    const r = verifySignedToken(token, {
      keys,
      hmac: () => {
        throw new Error('boom');
      },
    });
    expect(r).toEqual({ ok: false, reason: 'bad_signature' });
  });
});

describe('base64url and byte helpers', () => {
  it('P-B64 encode/decode round-trips and agrees with Buffer for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = encodeBase64Url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64url'));
        expect([...(decodeBase64Url(text) ?? [0])]).toEqual([...bytes]);
      }),
    );
  });

  it('P-B64 decode never throws and accepts only the canonical spelling', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), (text) => {
        const out = decodeBase64Url(text);
        if (out !== undefined) expect(encodeBase64Url(out)).toBe(text);
      }),
    );
    expect(decodeBase64Url('-_8')).toEqual(Uint8Array.of(0xfb, 0xff));
    expect(decodeBase64Url('-_9')).toBeUndefined();
    expect(decodeBase64Url('A')).toBeUndefined();
    expect(decodeBase64Url('AA==')).toBeUndefined();
    expect(decodeBase64Url('')).toEqual(new Uint8Array(0));
  });

  it('utf8Encode matches TextEncoder, including lone surrogates', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect([...utf8Encode(s)]).toEqual([...enc.encode(s)]);
      }),
    );
    for (const s of ['', 'beta', '灰度', '😀', 'a\ud800b', '\udc00', '\ud800'])
      expect([...utf8Encode(s)]).toEqual([...enc.encode(s)]);
  });

  it('constantTimeEqual compares bytes and lengths', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false);
  });
});
