import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launch, serve, type TestServer } from './harness.js';

// The self-contained build (dist/graylane.browser.js, dist/graylane.iife.js) on a plain page with
// no bundler and no import map, in real Chromium: the "Plain page" snippets of docs/browser.md are
// taken verbatim, only the CDN prefix is pointed at a loopback server that serves the built dist/.

const run = chromiumAvailable();
const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const docs = readFileSync(new URL('../../../../docs/browser.md', import.meta.url), 'utf8');
const CDN = /https:\/\/(?:unpkg\.com|cdn\.jsdelivr\.net\/npm)\/@graylane\/browser@[^/]+\/dist\//g;

/** The ```html blocks of the "Plain page" section. */
function snippets(): string[] {
  const section = docs.slice(
    docs.indexOf('## Plain page'),
    docs.indexOf('\n## ', docs.indexOf('## Plain page') + 1),
  );
  return [...section.matchAll(/```html\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

describe.skipIf(!run)('Chromium: the standalone build on a plain page (docs/browser.md)', () => {
  let browser: Browser;
  let app: TestServer;
  let page: Page;

  beforeAll(async () => {
    browser = await launch();
    app = await serve('127.0.0.1', (req, res, url) => {
      const file = /^\/dist\/(graylane\.(?:browser|iife)\.js)$/.exec(url.pathname)?.[1];
      if (file)
        return void res
          .writeHead(200, { 'content-type': 'text/javascript' })
          .end(readFileSync(`${dist}${file}`));
      const n = /^\/snippet\/(\d+)$/.exec(url.pathname)?.[1];
      if (n !== undefined) {
        const html = (snippets()[Number(n)] ?? '').replace(CDN, `${app.origin}/dist/`);
        return void res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<!doctype html><meta charset="utf-8">${html}`);
      }
      void req;
      res.writeHead(200).end('ok');
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('docs/browser.md has an ES module and a classic-script snippet, both on a pinned CDN URL', () => {
    const all = snippets();
    expect(all).toHaveLength(2);
    expect(all[0]).toMatch(/type="module"[\s\S]*graylane\.browser\.js/);
    expect(all[1]).toMatch(/graylane\.iife\.js[\s\S]*Graylane\.initGray/);
    for (const s of all) expect(s.match(CDN)).toHaveLength(1);
  });

  it.each([
    [0, 'fetch', () => fetch('/api/x').then((r) => r.status)],
    [
      1,
      'XHR',
      () =>
        new Promise<number>((resolve) => {
          const xhr = new XMLHttpRequest();
          xhr.open('GET', '/api/x');
          xhr.onloadend = () => resolve(xhr.status);
          xhr.send();
        }),
    ],
  ] as const)(
    'snippet %i loads with no bundler, assigns, persists and marks %s requests',
    async (n, _what, request) => {
      page = await browser.newPage();
      const logs: string[] = [];
      const errors: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('requestfailed', (r) => errors.push(`${r.url()} ${r.failure()?.errorText}`));
      app.seen.length = 0;
      await page.goto(`${app.origin}/snippet/${n}`);
      await expect
        .poll(() => logs.find((l) => l.startsWith('gray ')))
        .toMatch(/^gray (stable|beta) weight$/);
      const version = logs.find((l) => l.startsWith('gray '))?.split(' ')[1];
      expect(await page.evaluate(request)).toBe(200);
      expect(app.seen.find((s) => s.path === '/api/x')?.marker).toBe(version);
      const aid = await page.evaluate(() => /gray_aid=[0-9a-f]{32}/.test(document.cookie));
      expect(aid).toBe(true);
      // Everything came from the one file: no bare import, no second request for a dependency.
      expect(app.seen.filter((s) => s.path.startsWith('/dist/')).map((s) => s.path)).toHaveLength(
        1,
      );
      expect(errors).toEqual([]);
      await page.close();
    },
  );

  it('the files are self-contained: no import or require of any package, no node: builtin', () => {
    for (const file of ['graylane.browser.js', 'graylane.iife.js']) {
      const text = readFileSync(`${dist}${file}`, 'utf8');
      expect(text).not.toMatch(/\bfrom\s*["'][^"']+["']|\brequire\(|\bimport\(\s*["']/);
      expect(text).not.toMatch(/node:/);
    }
    expect(readFileSync(`${dist}graylane.iife.js`, 'utf8')).toMatch(/^var Graylane=/);
  });
});
