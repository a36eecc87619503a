import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { bucket, ruleBucket } from './bucket.js';
import { murmur3, murmur3Utf8 } from './murmur3.js';

const enc = new TextEncoder();
// Read with JSON.parse: the file has lone-surrogate escapes that some JSON importers reject.
const vectors = JSON.parse(
  readFileSync(new URL('../../spec/bucket.json', import.meta.url), 'utf8'),
) as {
  vectors: { salt: string; subject: string; bucket: number }[];
};

describe('murmur3 x86 32', () => {
  // Published MurmurHash3_x86_32 vectors (SMHasher-verified).
  const published: [Uint8Array | string, number, number][] = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    [new Uint8Array([0, 0, 0, 0]), 0, 0x2362f9de],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0, 0xb3dd93fa],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ];
  it.each(published)('matches the published vector %#', (input, seed, expected) => {
    const bytes = typeof input === 'string' ? enc.encode(input) : input;
    expect(murmur3(bytes, seed)).toBe(expected);
  });
});

describe('murmur3Utf8', () => {
  it.each(['', 'a', 'abcd', 'abcde', '灰度', '😀', 'lone-\ud800-x', 'x'.repeat(1027)])(
    'hashes %j exactly like murmur3 over TextEncoder bytes',
    (s) => {
      for (const seed of [0, 1, 0x9747b28c])
        expect(murmur3Utf8(s, seed)).toBe(murmur3(enc.encode(s), seed));
    },
  );
});

describe('bucket golden vectors (spec/bucket.json)', () => {
  it('has at least 50 vectors covering empty, ASCII, CJK, emoji and 1 KB subjects', () => {
    const subjects = vectors.vectors.map((v) => v.subject);
    expect(vectors.vectors.length).toBeGreaterThanOrEqual(50);
    expect(subjects).toContain('');
    expect(subjects.some((s) => /[\u4e00-\u9fff]/.test(s))).toBe(true);
    expect(subjects.some((s) => /\p{Extended_Pictographic}/u.test(s))).toBe(true);
    expect(subjects.some((s) => s.length >= 1024)).toBe(true);
  });
  it.each(
    vectors.vectors.map((v) => [v.salt, v.subject.slice(0, 24), v.subject, v.bucket] as const),
  )('bucket(%j, %j…)', (salt, _short, subject, expected) => {
    expect(bucket(salt, subject)).toBe(expected);
  });
  it('agrees with an independent murmur3 over TextEncoder bytes for every vector', () => {
    for (const v of vectors.vectors) {
      expect(murmur3(enc.encode(`${v.salt}:${v.subject}`)) % 10000).toBe(v.bucket);
    }
  });
});

describe('bucket: the per-salt prefix state (issue 20)', () => {
  // Salts and subjects of every UTF-8 length, split across the 4-byte block boundary at every
  // offset, lone surrogates, and more salts than the prefix cache holds (it refills).
  const salts = [
    'c',
    'ca',
    'can',
    'cana',
    'canary',
    'ünï',
    '日本',
    '😀x',
    'a\ud800',
    ...Array.from({ length: 300 }, (_, i) => `salt-${i}`),
  ];
  const subjects = ['', 'u', 'user-42', 'üser', '用户-7', '😀😀', '\udc00lone', 'x'.repeat(257)];
  it('bucket and ruleBucket (salt, subject) are murmur3 of the UTF-8 of "salt:subject" for every pair', () => {
    let checked = 0;
    for (let round = 0; round < 2; round++)
      for (const salt of salts)
        for (const subject of subjects) {
          const bytes = enc.encode(`${salt}:${subject}`);
          expect(bucket(salt, subject)).toBe(murmur3(bytes, 0) % 10_000);
          expect(ruleBucket(salt, subject)).toBe(murmur3(bytes, 0) % 10_000);
          expect(murmur3Utf8(salt, 0, subject)).toBe(murmur3(bytes, 0));
          checked++;
        }
    expect(checked).toBe(2 * salts.length * subjects.length);
  });
});
