import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {} from './page-entry-js-cookie.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, expectHostCookieBeta, launch, PAGE } from './harness.js';

// The cookie rows with `cookies: jsCookieJar` (the 0.1 compatibility export of
// @graylane/browser/js-cookie) in real Chromium, against the default jar (the same js-cookie jar)
// on the https origin of RELIABILITY §2 served by Playwright routing (nothing leaves the process).

const run = chromiumAvailable();
const APP = 'https://app.example.com';

describe.skipIf(!run)('Chromium: the js-cookie compatibility export and the default jar', () => {
  let browser: Browser;
  let sdk: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    [browser, sdk] = await Promise.all([launch(), bundleSdk('./page-entry-js-cookie.ts')]);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext();
    await context.route('**/*', (route) =>
      route.request().url() === `${APP}/sdk.js`
        ? route.fulfill({ body: sdk, contentType: 'text/javascript' })
        : route.fulfill({ body: PAGE, contentType: 'text/html' }),
    );
    page = await context.newPage();
    await page.goto(`${APP}/`);
  });

  it('BC-01/04/06 + removal: __Host-gray with Secure, SameSite=Lax, 30 days; overwrites; an unknown value is deleted', async () => {
    const out = await page.evaluate(() => {
      const { initGray, jsCookieJar } = globalThis.graylaneJsCookie;
      const options = {
        versions: ['stable', 'beta'],
        default: 'stable',
        cookies: jsCookieJar,
        cookie: { maxAgeSeconds: 99_999_999 },
      };
      // Another header: a new client (equal options would return this one), reading the cookie.
      const c = initGray({ ...options, header: 'X-Lane' });
      c.setGrayVersion('beta');
      const first = document.cookie;
      c.setGrayVersion('stable');
      c.setGrayVersion('beta');
      return { first, overwritten: document.cookie, reason: initGray(options).getGrayReason() };
    });
    expect(out).toEqual({
      first: '__Host-gray=beta',
      overwritten: '__Host-gray=beta',
      reason: 'cookie',
    });
    await expectHostCookieBeta(context, APP);

    const removed = await page.evaluate(() => {
      const { initGray, jsCookieJar } = globalThis.graylaneJsCookie;
      document.cookie = '__Host-gray=gamma; Path=/; Secure; SameSite=Lax';
      const c = initGray({ versions: ['stable', 'beta'], default: 'stable', cookies: jsCookieJar });
      return { reason: c.getGrayReason(), cookie: document.cookie };
    });
    expect(removed).toEqual({ reason: 'unknown_version', cookie: '' });
  });

  it('BC-04 the default jar in the same page: the same cookie, and clearing deletes it at once', async () => {
    const out = await page.evaluate(() => {
      const { initGray } = globalThis.graylaneJsCookie;
      const c = initGray({ versions: ['stable', 'beta'], default: 'stable' });
      c.setGrayVersion('beta');
      const written = document.cookie;
      c.clearGrayVersion();
      return { written, cleared: document.cookie };
    });
    expect(out).toEqual({ written: '__Host-gray=beta', cleared: '' });
  });
});
