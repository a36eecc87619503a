/**
 * AST-23 one hand-off meta (review F10), with real React: a page the asset-lane gateway serves
 * (`@graylane/node/assets`, graylane middleware, `X-Gray-Id`) whose HTML already carries a
 * `<meta name="graylane-version">` — a template's hard-coded, stale one, or the one a React SSR
 * app renders into its own `<head>` — is rendered by react-dom/server in `transformHtml` and
 * hydrated by `GrayProvider` in Chromium. The head holds exactly one meta, with the decided
 * version, so the browser SDK reads that version, hydration matches the server render (no
 * recoverable error), and no duplicate is left in the head afterwards.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, BrowserContext } from 'playwright-core';
import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane } from '@graylane/node';
import { createAssetLanes } from '@graylane/node/assets';
import { chromiumAvailable, launch } from '../../browser/test/chromium/harness.js';
import { App, Document, OPTIONS } from './gateway-app.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The browser side: hydrate what the server rendered, record React's recoverable errors. */
const CLIENT = `
import { createElement as h, Fragment, useEffect } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { App, Document } from './gateway-app.ts';
window.__errors = [];
const Done = () => (useEffect(() => void (window.__done = true), []), null);
const options = { onRecoverableError: (e) => window.__errors.push(String(e && e.message)) };
const root = document.getElementById('root');
if (root) hydrateRoot(root, h(Fragment, null, h(App), h(Done)), options);
else hydrateRoot(document, h(Fragment, null, h(Document), h(Done)), options);
`;

const SCRIPT = '<script src="/client.js"></script>';
const template = (head: string): string =>
  `<!doctype html><html><head>${head}<title>t</title></head><body><div id="root"><!--ssr--></div>${SCRIPT}</body></html>`;
const meta = (v: string): string => `<meta name="graylane-version" content="${v}">`;

/** A page: its template (`undefined`: React renders the whole document) and the decided version. */
const ROWS: readonly (readonly [string, string | undefined, string])[] = [
  ['a template with a stale meta first in the head', template(meta('stable')), 'beta'],
  [
    'a template with a stale self-closing meta after the title',
    template('').replace('</title>', '</title><meta content="stable" name="graylane-version"/>'),
    'canary',
  ],
  [
    'a template with an upper-case, unquoted stale meta',
    template('<META NAME=graylane-version CONTENT=canary>'),
    'beta',
  ],
  ['a template with two stale metas', template(meta('stable') + meta('canary')), 'beta'],
  ['a template whose meta already names the version', template(meta('beta')), 'beta'],
  ['control: a template without a meta', template(''), 'canary'],
  ['React renders the whole document, its own meta in <head> (beta)', undefined, 'beta'],
  ['React renders the whole document, its own meta in <head> (stable)', undefined, 'stable'],
];

describe.skipIf(!chromiumAvailable())('AST-23 a React page the gateway serves', () => {
  let dir: string;
  let server: http.Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    const bundle = await build({
      stdin: { contents: CLIENT, resolveDir: HERE, loader: 'js' },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'chrome120',
      define: { 'process.env.NODE_ENV': '"production"' },
      write: false,
      logLevel: 'silent',
    });
    const js = bundle.outputFiles[0]?.text ?? '';
    dir = mkdtempSync(join(tmpdir(), 'graylane-react-gateway-'));
    mkdirSync(join(dir, 'stable'));
    writeFileSync(join(dir, 'stable', 'index.html'), '<!--page-->');
    const gray = createGraylane({ config: OPTIONS });
    const assets = createAssetLanes({
      root: dir,
      fallback: 'stable',
      transformHtml: (_html, { version, req }) => {
        const row = ROWS[Number(new URL(req.url ?? '/', 'http://x').searchParams.get('row'))];
        const page = row?.[1];
        if (page !== undefined)
          return page.replace('<!--ssr-->', renderToString(h(App, { serverVersion: version })));
        const doc = `<!DOCTYPE html>${renderToString(h(Document, { serverVersion: version }))}`;
        return doc.replace('</body>', `${SCRIPT}</body>`);
      },
    });
    server = http.createServer((req, res) => {
      if (req.url === '/client.js') {
        res.setHeader('content-type', 'text/javascript');
        res.end(js);
        return;
      }
      gray.handle(req, res, () => assets(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await launch();
    context = await browser.newContext();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(ROWS.map(([name, , version], i) => [name, i, version] as const))(
    '%s',
    async (_name, i, version) => {
      const page = await context.newPage();
      try {
        await page.setExtraHTTPHeaders({ 'x-gray-id': version });
        await page.goto(`${origin}/?row=${i}`);
        await page.waitForFunction(() => (window as { __done?: boolean }).__done === true);
        const seen = await page.evaluate(() => ({
          errors: (window as unknown as { __errors: string[] }).__errors,
          head: [...document.head.querySelectorAll('meta[name="graylane-version"]')].map(
            (m) => (m as HTMLMetaElement).content,
          ),
          text: document.getElementById('version')?.textContent,
        }));
        expect(seen).toEqual({ errors: [], head: [version], text: version });
      } finally {
        await page.close();
      }
    },
  );
});
