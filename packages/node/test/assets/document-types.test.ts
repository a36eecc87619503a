/**
 * AST-23 which documents get the hand-off meta (review 107): HTML — `text/html`, `.html`,
 * `.htm`, `.shtml` (served as is: server-side includes are not run) — is stamped; XHTML
 * (`.xhtml`, `application/xhtml+xml`) is read by an XML parser, where the HTML head walk is wrong
 * and an HTML `<meta …>` without `/>` is a fatal error: it is served byte for byte, from the
 * visitor's lane, with the lane caching policy. Chromium checks that the served XHTML renders.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launch } from '../../../browser/test/chromium/harness.js';
import { contentTypeFor, isHtml } from '../../src/assets/content-type.js';
import { createAssetLanes } from '../../src/assets/index.js';
import { listen, type Running } from '../helpers.js';
import { rawRequest } from './raw.js';

const HTML = '<!doctype html><html><head><title>t</title></head><body>b</body></html>';
const XHTML =
  '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>' +
  '<title>t</title><meta name="graylane-version" content="stable"/></head><body><p>b</p></body></html>';
const TAG = '<meta name="graylane-version" content="beta">';

describe('AST-23 the documents stamped with the version', () => {
  let dir: string;
  let server: Running;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-doc-types-'));
    mkdirSync(join(dir, 'beta'));
    for (const name of ['page.html', 'page.htm', 'page.shtml', 'PAGE.SHTML', 'page.HTML'])
      writeFileSync(join(dir, 'beta', name), HTML);
    writeFileSync(join(dir, 'beta', 'page.xhtml'), XHTML);
    writeFileSync(join(dir, 'beta', 'PAGE.XHTML'), XHTML);
    const assets = createAssetLanes({ root: dir, fallback: 'beta', version: () => 'beta' });
    server = await listen(http.createServer((req, res) => assets(req, res)));
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['page.html', 'control'],
    ['page.htm', 'control'],
    ['page.HTML', 'control'],
    ['page.shtml', 'new'],
    ['PAGE.SHTML', 'new'],
  ])('%s (%s): text/html, the meta in its head, the lane policy', async (name) => {
    const res = await rawRequest(server.port, `/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toBe(HTML.replace('<head>', `<head>${TAG}`));
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.headers['vary']).toBe('Cookie, X-Gray-Id');
  });

  it.each(['page.xhtml', 'PAGE.XHTML'])(
    '%s: application/xhtml+xml, served as it is, the lane policy',
    async (name) => {
      const res = await rawRequest(server.port, `/${name}`);
      expect(res.status).toBe(200);
      // No charset: XML declares its own (review 137), which a header parameter would override.
      expect(res.headers['content-type']).toBe('application/xhtml+xml');
      expect(res.body).toBe(XHTML);
      expect(res.headers['cache-control']).toBe('private, no-cache');
      expect(res.headers['vary']).toBe('Cookie, X-Gray-Id');
      expect(res.headers['etag']).toMatch(/^W\/"beta-/);
    },
  );

  it('isHtml and contentTypeFor agree: whatever is stamped is text/html', () => {
    for (const ext of ['html', 'htm', 'shtml', 'xhtml', 'xml', 'svg', 'txt', 'HTM', 'Shtml']) {
      expect(isHtml(`a.${ext}`)).toBe(contentTypeFor(`a.${ext}`).startsWith('text/html'));
    }
  });

  describe.skipIf(!chromiumAvailable())('in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launch();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
    });

    it.each([
      ['page.shtml', ['beta'], 'text/html'],
      ['page.xhtml', ['stable'], 'application/xhtml+xml'],
    ] as const)('%s renders, its head metas %j', async (name, metas, type) => {
      const page = await browser.newPage();
      try {
        await page.goto(`${server.url}/${name}`);
        const read = await page.evaluate(`({
          type: document.contentType,
          error: document.getElementsByTagName('parsererror').length,
          head: [...document.head.querySelectorAll('meta[name="graylane-version"]')].map((m) => m.content),
          body: document.body.textContent,
        })`);
        expect(read).toEqual({ type, error: 0, head: metas, body: 'b' });
      } finally {
        await page.close();
      }
    });
  });
});
