import { decide, parseConfig } from '@graylane/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grayConfig } from '../app/lib/gray.js';
import { buildApp, type Variant } from './build.js';
import { chromiumMissing, launch } from './chromium.js';
import { startDownstream } from './downstream.js';
import { startNext } from './serve.js';

interface LaneReport {
  version: string | null;
  servedBy: string;
  downstream: { marker?: string; baggage?: string; lane?: string };
}

interface Rendered {
  server: string;
  reason: string;
  servedBy: string;
  client: string;
  meta: string;
  api: LaneReport;
}

/** Two anonymous ids core's own evaluation puts in the beta and the stable arm of `ramp`. */
function seededIds(): { beta: string; stable: string } {
  const config = parseConfig(grayConfig);
  const found: Record<string, string> = {};
  for (let i = 0; !(found['beta'] && found['stable']); i++) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    found[decide(config, { cookies: { gray_uid: id } }).version] ??= id;
  }
  return { beta: found['beta'] as string, stable: found['stable'] as string };
}

/**
 * The Next.js app built with `next build`, served with `next start`, driven by Chromium:
 * `variant` picks Next 16's `proxy.js` (Node runtime) or `middleware.js` (edge runtime).
 */
export function describeNextApp(variant: Variant, runtime: 'nodejs' | 'edge'): void {
  const skip = chromiumMissing();
  if (skip !== undefined) console.warn(`[graylane] Next.js ${variant} tests skipped: ${skip}`);
  describe.skipIf(skip !== undefined)(`Next.js ${variant}.js (${runtime} runtime)`, () => {
    let browser: Browser;
    let down: Awaited<ReturnType<typeof startDownstream>>;
    let app: Awaited<ReturnType<typeof startNext>>;
    const errors: string[] = [];

    beforeAll(async () => {
      const built = await buildApp(variant);
      console.info(
        `[graylane] next build (${variant}): ${built.cached ? 'cached' : `${built.ms} ms`}`,
      );
      down = await startDownstream();
      app = await startNext(built.dir, { GRAY_DOWNSTREAM: down.origin });
      browser = await launch();
    }, 1_500_000);
    afterAll(async () => {
      await browser?.close();
      await app?.stop();
      await down?.close();
    });

    const open = async (
      context: BrowserContext,
      path = '/',
    ): Promise<{ page: Page; rendered: Rendered; headers: Record<string, string> }> => {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      const res = await page.goto(`${app.origin}${path}`);
      expect(res?.status(), app.output().slice(-2000)).toBe(200);
      await page.waitForFunction(
        () => (document.querySelector('#api')?.textContent ?? '') !== '',
        null,
        {
          timeout: 20_000,
        },
      );
      const text = async (sel: string): Promise<string> => (await page.textContent(sel)) ?? '';
      const rendered: Rendered = {
        server: await text('#server-version'),
        reason: await text('#server-reason'),
        servedBy: await text('#served-by'),
        client: await text('#client-version'),
        meta: await text('#meta-version'),
        api: JSON.parse(await text('#api')) as LaneReport,
      };
      return { page, rendered, headers: res?.headers() ?? {} };
    };

    /** Every layer agrees: server render, meta hand-off, client SDK, route handler, downstream. */
    const expectOneLane = (r: Rendered, version: string): void => {
      expect(r).toMatchObject({ server: version, client: version, meta: version });
      expect(r.api).toMatchObject({ version, downstream: { marker: version, lane: version } });
      expect(r.api.downstream.baggage).toContain(`gray=${version}`);
    };

    it(`the ${variant} runs on the ${runtime} runtime`, async () => {
      const res = await fetch(`${app.origin}/`);
      await res.body?.cancel();
      expect(res.headers.get('x-proxy-runtime')).toBe(runtime);
    });

    it('STK-02 first visit: a fresh browser is split, gets sticky cookies, every layer on one lane', async () => {
      const context = await browser.newContext();
      const { rendered, headers } = await open(context);
      expect(rendered.reason).toBe('weight');
      expect(['stable', 'beta']).toContain(rendered.server);
      expectOneLane(rendered, rendered.server);
      expect(headers['x-gray-decision']).toMatch(
        new RegExp(`^version=${rendered.server}; reason=weight`),
      );
      const cookies = await context.cookies(app.origin);
      expect(cookies.find((c) => c.name === 'gray')).toMatchObject({
        value: rendered.server,
        httpOnly: true,
      });
      expect(cookies.find((c) => c.name === 'gray_uid')?.value).toMatch(/^[0-9a-f-]{36}$/);

      // Second visit: the sticky cookie decides, nothing new is set.
      const again = await open(context);
      expect(again.rendered.reason).toBe('cookie');
      expectOneLane(again.rendered, rendered.server);
      expect(again.headers['set-cookie']).toBeUndefined();
      await context.close();
    });

    it('WT-02 the split serves both arms: seeded anonymous ids land where core decides', async () => {
      const ids = seededIds();
      for (const [version, id] of Object.entries(ids)) {
        const context = await browser.newContext();
        await context.addCookies([{ name: 'gray_uid', value: id, url: app.origin }]);
        const { rendered } = await open(context);
        expect(rendered.reason).toBe('weight');
        expectOneLane(rendered, version);
        await context.close();
      }
    });

    it.each([
      ['HDR-03 header', { headers: { 'x-gray-id': 'beta' } }, '/', 'beta', 'header'],
      ['CK-01 cookie', { cookie: 'canary' }, '/', 'canary', 'cookie'],
      ['QS-02 query', {}, '/?gray=beta', 'beta', 'query'],
      [
        'PREC-01 header over cookie',
        { headers: { 'x-gray-id': 'canary' }, cookie: 'beta' },
        '/',
        'canary',
        'header',
      ],
      [
        'PREC-02 invalid header falls to the query',
        { headers: { 'x-gray-id': 'BETA' } },
        '/?gray=canary',
        'canary',
        'query',
      ],
    ] as const)(
      '%s marker decides the lane of every layer',
      async (_id, setup, path, version, reason) => {
        const context = await browser.newContext(
          'headers' in setup ? { extraHTTPHeaders: { ...setup.headers } } : {},
        );
        if ('cookie' in setup)
          await context.addCookies([{ name: 'gray', value: setup.cookie, url: app.origin }]);
        const { rendered } = await open(context, path);
        expect(rendered.reason).toBe(reason);
        expectOneLane(rendered, version);
        await context.close();
      },
    );

    it('lane fallback: canary has no implementation here, stable serves it, canary travels on', async () => {
      const context = await browser.newContext({ extraHTTPHeaders: { 'x-gray-id': 'canary' } });
      const { rendered } = await open(context);
      expect(rendered.servedBy).toBe('stable');
      expect(rendered.api.servedBy).toBe('stable');
      expectOneLane(rendered, 'canary');
      await context.close();
    });

    it('a server action sees the lane', async () => {
      const context = await browser.newContext({ extraHTTPHeaders: { 'x-gray-id': 'beta' } });
      const { page } = await open(context);
      await page.click('#act');
      await page.waitForFunction(
        () => document.querySelector('#action-version')?.textContent === 'beta',
        null,
        {
          timeout: 15_000,
        },
      );
      await context.close();
    });

    it('no flash: the first paint already shows the server lane and hydration reports no mismatch', async () => {
      const context = await browser.newContext({ extraHTTPHeaders: { 'x-gray-id': 'beta' } });
      const page = await context.newPage();
      // The HTML as delivered, before any script ran.
      const html = await (await page.request.get(`${app.origin}/`)).text();
      expect(html).toContain('<meta name="graylane-version" content="beta"/>');
      expect(html).toMatch(/id="client-version">beta</);
      await context.close();
      expect(errors.filter((e) => /hydrat/i.test(e))).toEqual([]);
    });
  });
}
