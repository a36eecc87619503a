import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, launch, PAGE } from './harness.js';

// BC-04 in real Chromium (the happy-dom table is test/cookie-name-clash.test.ts): `cookie.name`
// and `cookie.anonymousIdName` naming one cookie — set equal, or one set to the other's default —
// throw INVALID_OPTIONS in the page and write nothing, on http (no prefix) and on https (both
// `__Host-`, or both `__Secure-` with a domain). Controls: names differing only in case are two
// cookies in Chromium, and the version and the anonymous id each survive a real reload. Pages on
// http://app.example.com and https://app.example.com are served by Playwright routing (nothing
// leaves the process).

const run = chromiumAvailable();
const ORIGINS = ['http://app.example.com', 'https://app.example.com'] as const;

interface Cookie {
  readonly name?: string;
  readonly anonymousIdName?: string;
  readonly domain?: string;
}

interface Visit {
  readonly version: string;
  readonly reason: string;
  readonly ids: readonly string[];
}

describe.skipIf(!run)(
  'Chromium: BC-04 cookie.name and cookie.anonymousIdName are two cookies',
  () => {
    let browser: Browser;
    let sdk: string;
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      [browser, sdk] = await Promise.all([launch(), bundleSdk()]);
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
    });

    beforeEach(async () => {
      await context?.close();
      context = await browser.newContext();
      await context.route('**/*', (route) =>
        route.request().url().endsWith('/sdk.js')
          ? route.fulfill({ body: sdk, contentType: 'text/javascript' })
          : route.fulfill({ body: PAGE, contentType: 'text/html' }),
      );
      page = await context.newPage();
    });

    /** `initGray` in the page: the error code and message it threw, or 'no error'. */
    const init = (cookie: Cookie): Promise<string> =>
      page.evaluate((cookie) => {
        try {
          globalThis.graylane.initGray({ versions: ['stable', 'beta'], default: 'stable', cookie });
          return 'no error';
        } catch (e) {
          return `${(e as { code?: string }).code} ${(e as Error).message}`;
        }
      }, cookie);

    /** One page view: initGray with a split-like rule recording the id, optionally a QA choice. */
    const visit = (cookie: Cookie, choose?: string): Promise<Visit> =>
      page.evaluate(
        ([cookie, choose]) => {
          const ids: string[] = [];
          const gray = globalThis.graylane.initGray({
            versions: ['stable', 'beta'],
            default: 'stable',
            cookie,
            rules: ({ anonymousId }) => void ids.push(anonymousId),
          });
          if (choose) gray.setGrayVersion(choose);
          const seen = { version: gray.getGrayVersion(), reason: gray.getGrayReason() };
          // Assigned again from the rules: they see the anonymous id read back from its cookie.
          if (!choose) gray.clearGrayVersion();
          return { ...seen, ids };
        },
        [cookie, choose] as const,
      );

    it.each(
      ORIGINS.flatMap((origin) =>
        (
          [
            ['both set to one name', { name: 'ab', anonymousIdName: 'ab' }],
            ['anonymousIdName = the default name', { anonymousIdName: 'gray' }],
            ['name = the default anonymousIdName', { name: 'gray_aid' }],
            ['both set to the default name', { name: 'gray', anonymousIdName: 'gray' }],
            ['with a domain', { name: 'g', anonymousIdName: 'g', domain: 'app.example.com' }],
          ] as const
        ).map(([what, cookie]) => ({ origin, what, cookie: cookie as Cookie })),
      ),
    )(
      'INVALID_OPTIONS in the page on $origin: $what; nothing is written',
      async ({ origin, cookie }) => {
        await page.goto(`${origin}/`);
        const out = await init(cookie);
        expect(out).toMatch(
          /^INVALID_OPTIONS .*initGray: invalid cookie\.name = cookie\.anonymousIdName "/,
        );
        expect(await context.cookies()).toEqual([]);
      },
    );

    it.each(
      ORIGINS.flatMap((origin) =>
        (
          [
            ['the defaults', {}, ['gray', 'gray_aid']],
            [
              'case differs (Gray / gray)',
              { name: 'Gray', anonymousIdName: 'gray' },
              ['Gray', 'gray'],
            ],
            ['case differs (default gray / GRAY)', { anonymousIdName: 'GRAY' }, ['gray', 'GRAY']],
            [
              'the defaults swapped',
              { name: 'gray_aid', anonymousIdName: 'gray' },
              ['gray_aid', 'gray'],
            ],
          ] as const
        ).map(([what, cookie, names]) => ({ origin, what, cookie: cookie as Cookie, names })),
      ),
    )(
      'control on $origin: $what are two cookies; both survive a reload',
      async ({ origin, cookie, names }) => {
        await page.goto(`${origin}/`);
        const first = await visit(cookie, 'beta');
        expect(first.ids[0]).toMatch(/^[0-9a-f]{32}$/);
        const prefix = origin.startsWith('https:') ? '__Host-' : '';
        const jar = Object.fromEntries((await context.cookies()).map((c) => [c.name, c.value]));
        expect(jar).toEqual({ [prefix + names[0]]: 'beta', [prefix + names[1]]: first.ids[0] });
        await page.reload();
        const next = await visit(cookie);
        expect([next.version, next.reason]).toEqual(['beta', 'cookie']);
        expect(next.ids).toEqual(first.ids);
      },
    );
  },
);
