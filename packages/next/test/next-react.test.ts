/**
 * Review F8: `@graylane/react` in a Next.js App Router app, from a server component. The
 * `react-app` is built with `next build`, served with `next start` and driven by Chromium: its
 * root layout (`app/layout.tsx`, a server component) imports `GrayProvider` straight from
 * `@graylane/react` and wraps the page; the page (a server component) renders `GrayBranch` with
 * server-rendered branches and a client component that uses the hooks. Without `'use client'`
 * at the top of the package's entries the build fails (hooks in a server component).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from '../../../tools/chromium.js';
import { buildApp } from './support/build.js';
import { startNext } from './support/serve.js';

const skip = chromiumMissing('[graylane] Next.js + @graylane/react tests skipped');
if (skip !== undefined) console.warn(skip);

describe.skipIf(skip !== undefined)('Next.js App Router: GrayProvider in a server layout', () => {
  let browser: Browser;
  let app: Awaited<ReturnType<typeof startNext>>;

  beforeAll(async () => {
    const built = await buildApp('react');
    console.info(`[graylane] next build (react): ${built.cached ? 'cached' : `${built.ms} ms`}`);
    app = await startNext(built.dir, {});
    browser = await launchChromium();
  }, 1_500_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it.each([
    ['beta', { 'x-gray-id': 'beta' }, 'new checkout'],
    ['stable', { 'x-gray-id': 'stable' }, 'checkout'],
    ['stable', {}, 'checkout'],
    ['stable', { 'x-gray-id': 'nightly' }, 'checkout'],
  ] as const)(
    'serves %s (headers %j) and hydrates with no error: server, client, branch and hand-off agree',
    async (version, headers, branch) => {
      const context = await browser.newContext({ extraHTTPHeaders: headers });
      const errors: string[] = [];
      try {
        const page = await context.newPage();
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(String(e)));
        const res = await page.goto(`${app.origin}/`);
        expect(res?.status(), app.output().slice(-2000)).toBe(200);
        // The delivered HTML already shows the server's version (no flash).
        const html = await (await page.request.get(`${app.origin}/`)).text();
        expect(html).toMatch(new RegExp(`id="client-version">${version}<`));
        await page.waitForFunction(() => document.querySelector('#hydrated')?.textContent !== 'no');
        const seen = await page.evaluate(() => ({
          server: document.querySelector('#server-version')?.textContent,
          client: document.querySelector('#client-version')?.textContent,
          hydrated: document.querySelector('#hydrated')?.textContent,
          branch: document.querySelector('#branch')?.textContent,
          head: Array.from(
            document.head.querySelectorAll<HTMLMetaElement>('meta[name="graylane-version"]'),
            (m) => m.content,
          ),
        }));
        expect(seen).toEqual({
          server: version,
          client: version,
          hydrated: `yes ${version}`,
          branch,
          head: [version],
        });
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );
});
