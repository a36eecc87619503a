/**
 * React 18 (the oldest React `@graylane/react` peers): the same app server-rendered by React 18's
 * react-dom/server and hydrated by React 18's react-dom/client in Chromium. The repository's own
 * React is 19, so both sides are bundled by esbuild with `react` / `react-dom` aliased to a React
 * 18 install (`GRAYLANE_REACT18`: a folder with node_modules/react and react-dom 18, installed by
 * .ci/run). Each page hydrates without a recoverable error, the head keeps one hand-off meta and
 * the hooks show the server's version; a control renders a different version on the server than
 * the head hands off, and React 18 reports the mismatch, so the oracle can fail.
 */
import http from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion } from '@graylane/node';
import { chromiumAvailable, launch } from '../../browser/test/chromium/harness.js';
import { OPTIONS } from './gateway-app.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REACT18 = join(
  process.env['GRAYLANE_REACT18'] ?? join(homedir(), '.cache/graylane-runtimes/react18'),
  'node_modules',
);
const installed = existsSync(join(REACT18, 'react-dom', 'package.json'));
if (!installed && process.env['CI'])
  throw new Error(`React 18 is not installed at ${REACT18} (.ci/run installs it)`);
const reactVersion = installed
  ? (
      JSON.parse(readFileSync(join(REACT18, 'react', 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version
  : '';

/** Both bundles resolve React to the React 18 install, whoever imports it (graylane included). */
const react18: BuildOptions = {
  bundle: true,
  alias: { react: join(REACT18, 'react'), 'react-dom': join(REACT18, 'react-dom') },
  define: { 'process.env.NODE_ENV': '"production"' },
  write: false,
  logLevel: 'silent',
};

const SERVER = `
import { createElement as h, version } from 'react';
import { renderToString } from 'react-dom/server';
import { App, Document } from './gateway-app.ts';
export const render = (whole, serverVersion) =>
  whole
    ? '<!DOCTYPE html>' + renderToString(h(Document, { serverVersion }))
    : renderToString(h(App, { serverVersion }));
export { version };
`;

const CLIENT = `
import { createElement as h, Fragment, StrictMode, useEffect, version } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { App, Document } from './gateway-app.ts';
window.__errors = [];
window.__react = version;
const Done = () => (useEffect(() => void (window.__done = true), []), null);
const options = { onRecoverableError: (e) => window.__errors.push(String(e && e.message)) };
const root = document.getElementById('root');
const strict = new URLSearchParams(location.search).has('strict');
const wrap = (el) => (strict ? h(StrictMode, null, el) : el);
if (root) hydrateRoot(root, wrap(h(Fragment, null, h(App), h(Done))), options);
else hydrateRoot(document, wrap(h(Fragment, null, h(Document), h(Done))), options);
`;

const SCRIPT = '<script src="/client.js"></script>';
const meta = (v: string): string => `<meta name="graylane-version" content="${v}">`;

interface Row {
  readonly name: string;
  /** React renders the whole document (its own meta in the head), or the body into a template. */
  readonly whole: boolean;
  readonly strict: boolean;
  /** The marker the request carries (the decided version). */
  readonly version: string;
  /** What the server renders, when it is not the decided version (the control). */
  readonly rendered?: string;
}

const ROWS: readonly Row[] = ['stable', 'beta', 'canary'].flatMap((version) =>
  [false, true].flatMap((whole) =>
    [false, true].map((strict) => ({
      name: `${version}: ${whole ? 'the whole document' : 'a template body'}${strict ? ', StrictMode' : ''}`,
      whole,
      strict,
      version,
    })),
  ),
);
const CONTROL: Row = {
  name: 'control: the server renders stable, the head hands off beta',
  whole: false,
  strict: false,
  version: 'beta',
  rendered: 'stable',
};

describe.skipIf(!chromiumAvailable() || !installed)('React 18: SSR + hydration in Chromium', () => {
  let dir: string;
  let server: http.Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let ssr: { render: (whole: boolean, v: string) => string; version: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-react18-'));
    const [serverBundle, clientBundle] = await Promise.all([
      build({
        ...react18,
        stdin: { contents: SERVER, resolveDir: HERE, loader: 'js' },
        format: 'esm',
        platform: 'node',
        target: 'node20',
      }),
      build({
        ...react18,
        stdin: { contents: CLIENT, resolveDir: HERE, loader: 'js' },
        format: 'iife',
        platform: 'browser',
        target: 'chrome120',
      }),
    ]);
    const file = join(dir, 'server.mjs');
    writeFileSync(file, serverBundle.outputFiles?.[0]?.text ?? '');
    ssr = (await import(pathToFileURL(file).href)) as typeof ssr;
    const js = clientBundle.outputFiles?.[0]?.text ?? '';
    const gray = createGraylane({ config: OPTIONS });
    server = http.createServer((req, res) => {
      if (req.url === '/client.js') {
        res.setHeader('content-type', 'text/javascript');
        res.end(js);
        return;
      }
      gray.handle(req, res, () => {
        const q = new URL(req.url ?? '/', 'http://x').searchParams;
        const version = getGrayVersion();
        const rendered = q.get('rendered') ?? version;
        res.setHeader('content-type', 'text/html; charset=utf-8');
        if (q.has('whole')) {
          res.end(ssr.render(true, rendered).replace('</body>', `${SCRIPT}</body>`));
          return;
        }
        res.end(
          `<!doctype html><html><head>${meta(version)}<title>t</title></head><body>` +
            `<div id="root">${ssr.render(false, rendered)}</div>${SCRIPT}</body></html>`,
        );
      });
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
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function visit(row: Row) {
    const page = await context.newPage();
    try {
      await page.setExtraHTTPHeaders({ 'x-gray-id': row.version });
      const q = new URLSearchParams();
      if (row.whole) q.set('whole', '');
      if (row.strict) q.set('strict', '');
      if (row.rendered) q.set('rendered', row.rendered);
      await page.goto(`${origin}/?${q}`);
      await page.waitForFunction(() => (window as { __done?: boolean }).__done === true);
      return await page.evaluate(() => ({
        react: (window as unknown as { __react: string }).__react,
        errors: (window as unknown as { __errors: string[] }).__errors,
        head: [...document.head.querySelectorAll('meta[name="graylane-version"]')].map(
          (m) => (m as HTMLMetaElement).content,
        ),
        text: document.getElementById('version')?.textContent,
      }));
    } finally {
      await page.close();
    }
  }

  it('both bundles run React 18', () => {
    expect(reactVersion).toMatch(/^18\./);
    expect(ssr.version).toBe(reactVersion);
  });

  it.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const seen = await visit(row);
    expect(seen).toEqual({
      react: reactVersion,
      errors: [],
      head: [row.version],
      text: row.version,
    });
  });

  it(CONTROL.name, async () => {
    const seen = await visit(CONTROL);
    expect(seen.react).toBe(reactVersion);
    // React 18 reports the mismatch and renders the client's version.
    expect(seen.errors.length).toBeGreaterThan(0);
    expect(seen.text).toBe('beta');
  });
});
