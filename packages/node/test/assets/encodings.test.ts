/**
 * AST-24 HTML that is not UTF-8 goes out byte for byte (review 137, D1). The gateway read every
 * document with `readFile('utf8')`, re-encoded it and claimed `charset=utf-8`: a UTF-16 page came
 * out as U+FFFD and NULs, windows-1252 and Shift_JIS text as U+FFFD, and a `<meta charset>` was
 * overridden by the header, whether or not anything was injected. Now only a UTF-8 document that
 * declares UTF-8 or nothing is decoded and stamped; any other is sent as the file is, without a
 * charset, per lane, counted `not_utf8` (`html_too_large` over 2 MiB), and never handed to
 * `transformHtml`.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssetLanes, type AssetLanes } from '../../src/assets/index.js';
import { createGraylane } from '../../src/index.js';
import { listen, type Running } from '../helpers.js';
import { ROWS } from './encoding-rows.js';
import { rawRequest } from './raw.js';

const META = '<meta name="graylane-version" content="beta">';
const CARRIERS = [{ 'X-Gray-Id': 'beta' }, { Cookie: 'gray=beta' }] as const;

let dir: string;
let server: Running;
let assets: AssetLanes;
let transformed: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-encodings-'));
  mkdirSync(join(dir, 'beta'));
  mkdirSync(join(dir, 'stable'));
  for (const row of ROWS) writeFileSync(join(dir, 'beta', row.file), row.bytes);
  transformed = [];
  const gray = createGraylane({ config: { versions: ['stable', 'beta'], default: 'stable' } });
  assets = createAssetLanes({
    root: dir,
    fallback: 'stable',
    transformHtml: (html, { path }) => {
      transformed.push(path);
      return html;
    },
  });
  server = await listen(
    http.createServer((req, res) => gray.handle(req, res, () => assets(req, res))),
  );
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The response body as bytes (raw.ts reads the wire as latin1: one byte, one character). */
const bytesOf = (body: string) => Buffer.from(body, 'latin1');

describe('AST-24 the gateway sends what it cannot stamp as it is', () => {
  it.each(ROWS.map((row, i) => [row.name, row, i] as const))('%s', async (_name, row, i) => {
    const before = assets.stats().injectionSkipped;
    const res = await rawRequest(server.port, `/${row.file}`, CARRIERS[i % 2]);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(row.type);
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.headers['vary']).toBe('Cookie, X-Gray-Id');
    const body = bytesOf(res.body);
    expect(Number(res.headers['content-length'])).toBe(body.length);
    const skipped = assets.stats().injectionSkipped;
    const html = row.type.startsWith('text/html');
    const large = row.bytes.length > 2 * 1024 * 1024;
    if (row.stamped) {
      // Decoded, stamped right after <head>, re-encoded: a byte order mark is still first.
      const text = row.bytes.toString('utf8');
      expect(body.toString('utf8')).toBe(text.replace('<head>', `<head>${META}`));
      expect(body.subarray(0, 3).equals(row.bytes.subarray(0, 3))).toBe(true);
      expect(transformed).toContain(row.file);
    } else {
      expect(body.equals(row.bytes)).toBe(true);
      expect(res.headers['etag']).toMatch(/^W\/"beta-/);
      expect(transformed).not.toContain(row.file);
      if (html) {
        const reason = large ? 'html_too_large' : 'not_utf8';
        expect((skipped[reason] ?? 0) - (before[reason] ?? 0)).toBe(1);
      }
    }
  });

  it.each(ROWS.filter((r) => !r.stamped).map((row) => [row.name, row] as const))(
    'HEAD and If-None-Match: %s',
    async (_name, row) => {
      const head = await rawRequest(server.port, `/${row.file}`, CARRIERS[0], 'HEAD');
      expect([head.status, head.body, head.headers['content-type']]).toEqual([200, '', row.type]);
      expect(head.headers['content-length']).toBe(String(row.bytes.length));
      const etag = head.headers['etag'] ?? '';
      const again = await rawRequest(server.port, `/${row.file}`, {
        ...CARRIERS[1],
        'If-None-Match': etag,
      });
      expect([again.status, again.body]).toEqual([304, '']);
    },
  );

  it('per lane: a lane without the document gets none, its own copy goes out as it is', async () => {
    const row = ROWS.find((r) => r.file === 'u16.html');
    const res = await rawRequest(server.port, `/${row?.file ?? ''}`, {});
    // stable has no such file: the visitor's lane only, never beta's.
    expect(res.status).toBe(404);
    writeFileSync(join(dir, 'stable', 'u16.html'), row?.bytes ?? '');
    const own = await rawRequest(server.port, '/u16.html', {});
    expect(bytesOf(own.body).equals(row?.bytes ?? Buffer.alloc(0))).toBe(true);
    expect(own.headers['content-type']).toBe('text/html');
  });
});
