import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, decisionFor, decisionServer, rawBody, rawRequest } from './helpers.js';

afterEach(closeAll);

function get(headerLines: string): string {
  return `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headerLines}\r\n`;
}

describe('S-HDR: X-Gray-Id request header (node:http)', () => {
  it('HDR-01 absent header falls through to the default', async () => {
    const s = await decisionServer();
    expect(await decisionFor(s.url)).toEqual({
      version: 'stable',
      reason: 'default',
      source: 'default',
    });
  });

  it.each([[''], ['    ']])('HDR-02 empty header %j is the same as absent', async (value) => {
    const s = await decisionServer();
    const out = rawBody(await rawRequest(s.port, get(`X-Gray-Id: ${value}\r\n`)));
    expect(out).toEqual({ version: 'stable', reason: 'default', source: 'default' });
    expect(s.gray.stats().invalidMarkers).toEqual([]);
  });

  it('HDR-03 a known version is accepted', async () => {
    const s = await decisionServer();
    expect(await decisionFor(s.url, { 'x-gray-id': 'beta' })).toEqual({
      version: 'beta',
      reason: 'header',
      source: 'header',
    });
  });

  it('HDR-04 a well-formed unknown version is ignored and counted, with no new label', async () => {
    const s = await decisionServer();
    const d = await decisionFor(s.url, { 'x-gray-id': 'gamma' });
    expect(d).toMatchObject({
      version: 'stable',
      reason: 'unknown_version',
      rejected: { source: 'header', reason: 'unknown' },
    });
    expect(s.gray.stats().invalidMarkers).toEqual([
      { source: 'header', reason: 'unknown', count: 1 },
    ]);
    expect(s.gray.stats().decisions.map((r) => r.version)).toEqual(['stable']);
  });

  it.each(['BETA', 'Beta'])('HDR-05 %s is not case-folded by default', async (value) => {
    const s = await decisionServer();
    expect((await decisionFor(s.url, { 'x-gray-id': value })).version).toBe('stable');
  });

  it('HDR-05 caseInsensitive config accepts BETA as beta', async () => {
    const s = await decisionServer({
      config: { versions: ['stable', 'beta'], default: 'stable', caseInsensitive: true },
    });
    expect((await decisionFor(s.url, { 'x-gray-id': 'BETA' })).version).toBe('beta');
  });

  it.each([' beta ', '\tbeta'])('HDR-06 OWS %j is trimmed', async (value) => {
    const s = await decisionServer();
    const out = rawBody(await rawRequest(s.port, get(`X-Gray-Id:${value}\r\n`)));
    expect(out).toMatchObject({ version: 'beta', reason: 'header' });
  });

  it.each([
    ['beta', 'stable'],
    ['beta', 'beta'],
  ])('HDR-07 duplicate header (%s, %s) is ambiguous', async (a, b) => {
    const s = await decisionServer();
    const out = rawBody(await rawRequest(s.port, get(`X-Gray-Id: ${a}\r\nX-Gray-Id: ${b}\r\n`)));
    expect(out).toMatchObject({
      version: 'stable',
      rejected: { source: 'header', reason: 'ambiguous' },
    });
  });

  it.each(['beta,stable', 'beta;q=1', '"beta"', 'beta=1'])(
    'HDR-08 %j is ignored (charset)',
    async (value) => {
      const s = await decisionServer();
      const d = await decisionFor(s.url, { 'x-gray-id': value });
      expect(d.version).toBe('stable');
      expect(d.rejected?.source).toBe('header');
    },
  );

  it('HDR-09 a 5,000-byte value is rejected by the length check; > 16 KiB gets 431 from Node and no crash', async () => {
    const s = await decisionServer();
    const d = await decisionFor(s.url, { 'x-gray-id': 'a'.repeat(5000) });
    expect(d).toMatchObject({
      version: 'stable',
      rejected: { source: 'header', reason: 'too_long' },
    });
    const big = await rawRequest(s.port, get(`X-Gray-Id: ${'a'.repeat(17000)}\r\n`));
    expect(big).toMatch(/^HTTP\/1\.1 431/);
    expect(s.gray.stats().decisions.reduce((n, r) => n + r.count, 0)).toBe(1);
    expect(await decisionFor(s.url, { 'x-gray-id': 'beta' })).toMatchObject({ version: 'beta' });
  });

  it.each([
    ['béta as Latin-1', Buffer.from('b\xe9ta', 'latin1')],
    ['灰度 as UTF-8 bytes', Buffer.from('灰度', 'utf8')],
    ['beta + U+200B as UTF-8 bytes', Buffer.from('beta\u200b', 'utf8')],
    ['bytes 0x80-0xFF', Buffer.from(Array.from({ length: 16 }, (_, i) => 0x80 + i * 8))],
  ])('HDR-10 %s is ignored', async (_name, bytes) => {
    const s = await decisionServer();
    const raw = Buffer.concat([
      Buffer.from(get('X-Gray-Id: ').slice(0, -2)),
      bytes,
      Buffer.from('\r\n\r\n'),
    ]);
    const out = rawBody(await rawRequest(s.port, raw));
    expect(out).toMatchObject({
      version: 'stable',
      rejected: { source: 'header', reason: 'charset' },
    });
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'HDR-11 %s is ignored and Object.prototype is unchanged',
    async (value) => {
      const s = await decisionServer();
      const before = Object.getOwnPropertyNames(Object.prototype).sort();
      const d = await decisionFor(s.url, { 'x-gray-id': value });
      expect(d.version).toBe('stable');
      expect(d.rejected?.source).toBe('header');
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    },
  );

  it.each([
    ['obs-fold continuation', 'X-Gray-Id: be\r\n ta\r\n'],
    ['bare-LF split', 'X-Gray-Id: beta\nX-Evil: 1\r\n'],
    ['NUL inside the value', 'X-Gray-Id: be\0ta\r\n'],
  ])('HDR-12 %s gets 400 from llhttp before the middleware runs', async (_name, lines) => {
    const s = await decisionServer();
    const out = await rawRequest(s.port, get(lines));
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(s.gray.stats().decisions).toEqual([]);
  });
});
