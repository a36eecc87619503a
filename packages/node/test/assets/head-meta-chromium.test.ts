/**
 * AST-23 one hand-off meta (review F10), judged by a real HTML parser: every document shape of
 * head-shapes.ts is served through the asset-lane gateway (graylane middleware, `X-Gray-Id:
 * beta`, the shape as `transformHtml`'s output, as an SSR app would give it) and loaded in
 * Chromium. The head then holds exactly one `meta[name="graylane-version"]` — what the browser
 * SDK reads — with the decided version, and the rest of the document is what the shape alone
 * parses to: nothing in a comment, a script, a template or the body was rewritten.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launch } from '../../../browser/test/chromium/harness.js';
import { createAssetLanes } from '../../src/assets/index.js';
import { createGraylane } from '../../src/index.js';
import { listen, type Running } from '../helpers.js';
import { SHAPES } from './head-shapes.js';

/**
 * Run in the page: the head metas the browser SDK reads (`hand-off.ts`), and the document
 * without them (outerHTML of a clone), to compare with the shape parsed on its own.
 */
const READ = `(() => {
  const metas = [...document.head.querySelectorAll('meta[name="graylane-version"]')];
  const clone = document.documentElement.cloneNode(true);
  for (const m of clone.querySelectorAll('head > meta[name="graylane-version"]')) m.remove();
  return { head: metas.map((m) => m.content), rest: clone.outerHTML };
})()`;

interface Read {
  head: string[];
  rest: string;
}

describe.skipIf(!chromiumAvailable())('AST-23 the page Chromium parses has one hand-off', () => {
  let dir: string;
  let server: Running;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-head-'));
    mkdirSync(join(dir, 'beta'));
    writeFileSync(join(dir, 'beta', 'index.html'), '<!--shape-->');
    const gray = createGraylane({ config: { versions: ['stable', 'beta'], default: 'stable' } });
    const shapeOf = (url: string | undefined): string =>
      SHAPES[Number(new URL(url ?? '/', 'http://x').searchParams.get('shape'))]?.html ?? '';
    const assets = createAssetLanes({
      root: dir,
      fallback: 'beta',
      transformHtml: (_html, { req }) => shapeOf(req.url),
    });
    server = await listen(
      http.createServer((req, res) => {
        if (req.url?.startsWith('/raw')) {
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(shapeOf(req.url));
          return;
        }
        gray.handle(req, res, () => assets(req, res));
      }),
    );
    browser = await launch();
    const context = await browser.newContext({ extraHTTPHeaders: { 'x-gray-id': 'beta' } });
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const load = async (path: string): Promise<Read> => {
    const res = await page.goto(`${server.url}${path}`);
    expect(res?.status()).toBe(200);
    return (await page.evaluate(READ)) as Read;
  };

  it.each(SHAPES.map((s, i) => [s.name, i] as const))('%s', async (_name, i) => {
    const shape = SHAPES[i];
    const served = await load(`/?shape=${i}`);
    const alone = await load(`/raw?shape=${i}`);
    expect(served.head).toEqual(shape?.headMetas ?? ['beta']);
    expect(served.rest).toBe(alone.rest);
    // A head script that reads the hand-off when it runs (initGray) sees graylane's (D2).
    if (shape?.seen !== undefined) {
      await load(`/?shape=${i}`);
      expect(await page.evaluate('window.__seen')).toBe(shape.seen);
    }
  });
});
