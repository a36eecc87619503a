import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chromiumAvailable, launch } from '../../../browser/test/chromium/harness.js';
import { createGraylane, getGrayVersion, type Graylane } from '../../src/index.js';
import { createFileSource, startSources, type SourcesHandle } from '../../src/sources/index.js';
import {
  createStatusHandler,
  type StatusHandler,
  type StatusHandlerOptions,
} from '../../src/status/index.js';
import { closeAll, listen, type Running } from '../helpers.js';
import { HOSTILE, TOKEN, rulesDoc, waitFor } from './support.js';

/** The page's document inside `page.evaluate` (this package compiles without DOM types). */
declare const document: {
  querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }>;
  readonly title: string;
  readonly body: { readonly innerText: string };
};

const quiet = { warn: () => undefined, error: () => undefined };
const SCREENSHOT = fileURLToPath(
  new URL('../../../../docs/images/status-page.png', import.meta.url),
);

/** An app with a file rule source, graylane, and the status page polling every 500 ms. */
async function startApp(options: Partial<StatusHandlerOptions> = {}): Promise<{
  app: Running;
  gray: Graylane;
  status: StatusHandler;
  sources: SourcesHandle;
  rulesPath: string;
  cleanup: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-status-'));
  const rulesPath = join(dir, 'rules.json');
  writeFileSync(rulesPath, rulesDoc([{ id: 'qa-team', version: 'beta' }]));
  const gray = createGraylane({
    config: { versions: ['stable', 'beta', 'canary'], default: 'stable' },
  });
  const sources = startSources(
    gray.store,
    [createFileSource({ path: rulesPath, name: 'rules.json', logger: quiet, debounceMs: 10 })],
    {
      meter: false,
      logger: quiet,
    },
  );
  await sources.ready;
  const status = createStatusHandler({
    graylane: gray,
    sources,
    enabled: true,
    pollMs: 500,
    ...options,
  });
  const handler = (req: IncomingMessage, res: ServerResponse) =>
    gray.handle(req, res, () => res.end(getGrayVersion()));
  const app = await listen(
    http.createServer((req, res) => status.middleware(req, res, () => handler(req, res))),
  );
  return {
    app,
    gray,
    status,
    sources,
    rulesPath,
    cleanup: async () => {
      status.close();
      await sources.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends requests with the given markers in a loop until stopped: live traffic for the chart. */
function traffic(url: string, markers: readonly (string | undefined)[]): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const marker = markers[i % markers.length];
      await fetch(`${url}/work`, { headers: marker ? { 'x-gray-id': marker } : {} }).then((r) =>
        r.text(),
      );
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** The versions and shares of the newest bar of the chart. */
function newestBar(page: Page): Promise<{ version: string; share: number }[]> {
  return page.evaluate(() => {
    const rects = Array.from(document.querySelectorAll('#gl-bars rect[data-version]'));
    const maxX = Math.max(...rects.map((r) => Number(r.getAttribute('x'))));
    return rects
      .filter((r) => Number(r.getAttribute('x')) === maxX)
      .map((r) => ({
        version: r.getAttribute('data-version') ?? '',
        share: Number(r.getAttribute('data-share')),
      }));
  });
}

describe.skipIf(!chromiumAvailable())('status page in Chromium', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    page = await context.newPage();
    problems = [];
    // CSP violations, script errors and dialogs (an executed payload) all fail the test.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 401/.test(m.text()))
        problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
  });
  afterEach(async () => {
    await context?.close();
    await closeAll();
  });

  it('loads under its CSP, draws the chart and follows the traffic share as it changes', async () => {
    const { app, rulesPath, cleanup } = await startApp();
    try {
      await page.goto(`${app.url}/graylane/status`);
      await page.waitForSelector('#gl-poll[data-state="ok"]', { timeout: 10_000 });

      const onlyBeta = traffic(app.url, ['beta']);
      await waitFor(
        async () => (await newestBar(page)).some((b) => b.version === 'beta' && b.share === 1),
        15_000,
        'a beta-only bar',
      );
      await onlyBeta();

      const onlyStable = traffic(app.url, [undefined]);
      await waitFor(
        async () => {
          const bar = await newestBar(page);
          return bar.length === 1 && bar[0]?.version === 'stable' && bar[0].share === 1;
        },
        15_000,
        'a stable-only bar',
      );
      await onlyStable();

      const mixed = traffic(app.url, ['beta', undefined, undefined, 'canary']);
      await waitFor(
        async () => {
          const bar = await newestBar(page);
          const share = (v: string) => bar.find((b) => b.version === v)?.share ?? 0;
          return share('stable') > 0.3 && share('beta') > 0.1 && share('canary') > 0.1;
        },
        15_000,
        'a mixed bar',
      );
      await mixed();

      const samples = Number(await page.getAttribute('#gl-bars', 'data-samples'));
      expect(samples).toBeGreaterThanOrEqual(3);
      const legend = await page.locator('#gl-legend li').allTextContents();
      expect(legend.map((t) => t.split(' ')[0])).toEqual(['stable', 'beta', 'canary']);
      // Colors are stable per version: every beta rect has one fill.
      const fills = await page.evaluate(() => [
        ...new Set(
          Array.from(document.querySelectorAll('#gl-bars rect[data-version="beta"]')).map((r) =>
            r.getAttribute('fill'),
          ),
        ),
      ]);
      expect(fills).toEqual(['#e69f00']);

      // A reload while the page is open: the JSON shows it (the tables refresh on page load).
      writeFileSync(
        rulesPath,
        rulesDoc([
          { id: 'qa-team', version: 'canary' },
          { id: 'checkout-v2', version: 'beta' },
        ]),
      );
      await waitFor(
        async () => {
          const r = await page.evaluate(
            async () =>
              (await (await fetch('/graylane/status/status.json')).json()) as {
                reloads: { added?: string[] }[];
              },
          );
          return r.reloads.some((e) => e.added?.includes('checkout-v2'));
        },
        10_000,
        'the reload',
      );
      await page.reload();
      await page.waitForSelector('#gl-poll[data-state="ok"]', { timeout: 10_000 });
      const reloads = await page.locator('#reloads').textContent();
      expect(reloads).toContain('added: checkout-v2');
      expect(reloads).toContain('modified: qa-team');
      expect(await page.locator('#sources').textContent()).toContain('rules.json');

      const stillMixed = traffic(app.url, ['beta', undefined, undefined, 'canary']);
      await waitFor(
        async () => Number(await page.getAttribute('#gl-bars', 'data-samples')) >= 8,
        15_000,
        'eight samples',
      );
      await stillMixed();
      const shot = await page.screenshot({ fullPage: true });
      expect(shot.subarray(1, 4).toString()).toBe('PNG');
      expect(shot.length).toBeGreaterThan(20_000);
      // The committed screenshot is refreshed on request only, so a test run leaves the tree clean.
      const out =
        process.env['GRAYLANE_UPDATE_SCREENSHOTS'] === '1'
          ? SCREENSHOT
          : join(tmpdir(), 'graylane-status-page.png');
      mkdirSync(join(out, '..'), { recursive: true });
      writeFileSync(out, shot);
      expect(readFileSync(out).length).toBe(shot.length);
      expect(problems).toEqual([]);
    } finally {
      await cleanup();
    }
    // Five phases of live polling; a loaded two-core box can take a while.
  }, 90_000);

  it('hostile source names, errors and destinations render as text, and nothing executes', async () => {
    const { app, gray, cleanup } = await startApp({
      sources: {
        status: () => ({
          state: 'degraded',
          sources: HOSTILE.map((h, i) => ({
            name: h,
            status: {
              state: 'stale',
              lastSuccess: 0,
              lastError: HOSTILE[(i + 1) % HOSTILE.length] as string,
            },
          })),
        }),
      },
      propagation: () =>
        HOSTILE.map((h) => ({
          destination: h,
          carried: 1,
          missing: 2,
          withheld: 0,
          lastMissingSite: h,
        })),
      title: HOSTILE[1],
    });
    try {
      for (const h of HOSTILE) {
        gray.store.update(rulesDoc([{ id: `r${HOSTILE.indexOf(h)}`, version: 'beta' }]), {
          source: h,
        });
        gray.store.update('{"versions":', { source: h });
      }
      await page.goto(`${app.url}/graylane/status`);
      await page.waitForSelector('#gl-poll[data-state="ok"]', { timeout: 10_000 });
      const dom = await page.evaluate(() => ({
        scripts: document.querySelectorAll('script').length,
        injected: document.querySelectorAll(
          'img, iframe, object, embed, link, meta[http-equiv], [onerror], [onload], [style]',
        ).length,
        h1: document.querySelectorAll('h1').length,
        title: document.title,
        text: document.body.innerText,
      }));
      expect(dom).toMatchObject({ scripts: 1, injected: 0, h1: 1, title: HOSTILE[1] });
      for (const h of HOSTILE.filter((x) => !/[\u2028\u2029]/.test(x)))
        expect(dom.text).toContain(h);
      await page.waitForTimeout(1_200);
      expect(problems).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('token-protected: the page and its polls work only when the browser sends the bearer header', async () => {
    const { app, cleanup } = await startApp({ token: TOKEN });
    try {
      const denied = await page.goto(`${app.url}/graylane/status`);
      expect(denied?.status()).toBe(401);
      await context.setExtraHTTPHeaders({ authorization: `Bearer ${TOKEN}` });
      const ok = await page.goto(`${app.url}/graylane/status`);
      expect(ok?.status()).toBe(200);
      await page.waitForSelector('#gl-poll[data-state="ok"]', { timeout: 10_000 });

      // A page whose polls lack the header (only the navigation carried it) says so, and keeps
      // the chart it had instead of breaking.
      await context.setExtraHTTPHeaders({});
      const other = await context.newPage();
      await other.route('**/graylane/status', (route) =>
        route.continue({
          headers: { ...route.request().headers(), authorization: `Bearer ${TOKEN}` },
        }),
      );
      expect((await other.goto(`${app.url}/graylane/status`))?.status()).toBe(200);
      await other.waitForSelector('#gl-poll[data-state="error"]', { timeout: 10_000 });
      expect(await other.textContent('#gl-poll')).toContain('HTTP 401');
      expect(problems).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it("with the app's nonce, the page runs under the app's nonce", async () => {
    const nonce = 'YXBwLW5vbmNlLWZvci10aGlzLXJlc3BvbnNl';
    const { app, cleanup } = await startApp({ nonce: () => nonce });
    try {
      const response = await page.goto(`${app.url}/graylane/status`);
      expect(response?.headers()['content-security-policy']).toContain(`'nonce-${nonce}'`);
      await page.waitForSelector('#gl-poll[data-state="ok"]', { timeout: 10_000 });
      expect(await page.getAttribute('script', 'nonce')).toBe(''); // browsers hide nonce attributes from the DOM
      expect(problems).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});
