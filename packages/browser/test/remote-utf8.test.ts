import { describe, expect, it } from 'vitest';
import { readCapped } from '../src/remote/fetch-rules.js';
import { createRemoteRules } from '../src/remote.js';

// SRC-05 for @graylane/browser/remote: a document that is not UTF-8 is refused, as by
// @graylane/node and @graylane/web, never decoded to U+FFFD inside a matcher value.

const PREFIX =
  '{"versions":["stable","beta"],"default":"stable","rules":[{"id":"fr","match":{"header":{"x-city":{"equals":"';
const SUFFIX = '"}}},"version":"beta"}]}';
const enc = new TextEncoder();
const bytes = (...parts: Array<string | number[]>): Uint8Array<ArrayBuffer> => {
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};
const docWith = (value: number[]) => bytes(PREFIX, value, SUFFIX);
/** A body delivered in the given pieces (a multi-byte sequence may straddle two). */
const streamed = (pieces: Uint8Array<ArrayBuffer>[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of pieces) c.enqueue(p);
      c.close();
    },
  });
const split = (b: Uint8Array<ArrayBuffer>, at: number) => [b.subarray(0, at), b.subarray(at)];

const NOT_UTF8: Array<{ name: string; body: () => BodyInit }> = [
  { name: 'Latin-1 é (0xE9)', body: () => docWith([0x4f, 0x72, 0x6c, 0xe9, 0x61, 0x6e, 0x73]) },
  { name: 'a lone continuation byte', body: () => docWith([0x80]) },
  { name: 'a truncated 3-byte sequence', body: () => docWith([0xe2, 0x82]) },
  { name: 'an overlong "/" (C0 AF)', body: () => docWith([0xc0, 0xaf]) },
  { name: 'an encoded surrogate (ED A0 80)', body: () => docWith([0xed, 0xa0, 0x80]) },
  { name: '0xFF', body: () => docWith([0xff]) },
  { name: 'beyond U+10FFFF (F4 90 80 80)', body: () => docWith([0xf4, 0x90, 0x80, 0x80]) },
  {
    name: 'UTF-16LE with a BOM',
    body: () => {
      const s = `${PREFIX}x${SUFFIX}`;
      const b = new Uint8Array(2 + s.length * 2);
      b.set([0xff, 0xfe]);
      for (let i = 0; i < s.length; i++) b[2 + i * 2] = s.charCodeAt(i);
      return b;
    },
  },
  { name: 'a document cut inside a sequence at its end', body: () => bytes(PREFIX, [0xe2]) },
  {
    name: 'Latin-1 é in the second of two chunks',
    body: () => streamed(split(docWith([0xe9]), PREFIX.length - 3)),
  },
  {
    name: 'an invalid byte right at a chunk boundary',
    body: () => streamed(split(docWith([0xe2, 0x28, 0xa1]), PREFIX.length + 1)),
  },
];

const UTF8_OK: Array<{ name: string; body: () => BodyInit; value: string }> = [
  { name: 'é as UTF-8', body: () => docWith([0xc3, 0xa9]), value: 'é' },
  {
    name: '€ split across two chunks',
    body: () => streamed(split(docWith([0xe2, 0x82, 0xac]), PREFIX.length + 1)),
    value: '€',
  },
  {
    name: 'a leading BOM (dropped)',
    body: () => bytes([0xef, 0xbb, 0xbf], PREFIX, 'x', SUFFIX),
    value: 'x',
  },
  { name: '𝄞 (4 bytes)', body: () => docWith([0xf0, 0x9d, 0x84, 0x9e]), value: '𝄞' },
];

const make = (body: () => BodyInit) =>
  createRemoteRules({
    url: 'https://rules.example/graylane.json',
    storageKey: false,
    initial: { versions: ['stable', 'beta'], default: 'stable' },
    fetch: () => Promise.resolve(new Response(body(), { status: 200, headers: { etag: '"e"' } })),
  });
const matcher = (r: ReturnType<typeof make>): unknown =>
  (r.config()?.document.rules?.[0] as { match?: { header?: Record<string, { equals?: string }> } })
    ?.match?.header?.['x-city']?.equals;

describe('SRC-05 @graylane/browser/remote refuses a document that is not UTF-8', () => {
  for (const row of NOT_UTF8)
    it(`refused: ${row.name}`, async () => {
      const r = make(row.body);
      await r.refresh();
      expect(r.status()).toMatchObject({ lastError: 'document is not UTF-8' });
      expect(r.status().state).not.toBe('ready');
      expect(r.config()?.document.rules ?? []).toEqual([]);
      expect(await readCapped(new Response(row.body()), 1 << 20)).toBe(false);
    });

  for (const row of UTF8_OK)
    it(`accepted: ${row.name}`, async () => {
      const r = make(row.body);
      await r.refresh();
      expect(r.status().state).toBe('ready');
      expect(matcher(r)).toBe(row.value);
    });

  it('the size cap still applies before any decoding', async () => {
    expect(await readCapped(new Response(docWith([0xe9])), 10)).toBeUndefined();
  });
});
