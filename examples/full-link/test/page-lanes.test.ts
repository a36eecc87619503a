/**
 * The demo page on the lane: the gateway serves each version its own page build
 * (dist/web/<version>/) with the version in a meta tag; in Chromium the page shows its build
 * next to the hop table, and it matches the version.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createConfigStore } from '@graylane/core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from '../../../tools/chromium.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { addLane, createLaneTable } from '../src/lanes.js';
import { WEB_ROOT, ensureBuilt } from './helpers.js';

const missing = chromiumMissing('[graylane] demo page tests skipped');
if (missing !== undefined) console.warn(missing);
const available = missing === undefined;

describe.skipIf(!available)('the demo page is on the lane (Chromium)', () => {
  let gateway: RunningGateway;
  let browser: Browser;
  beforeAll(async () => {
    ensureBuilt();
    // No API calls here: the orders lane only has to exist for the gateway's router.
    const lanes = createLaneTable();
    addLane(lanes, 'orders', 'stable', 'http://127.0.0.1:9');
    gateway = await startGateway({
      instance: 'gateway',
      port: 0,
      lanes,
      config: createConfigStore({
        initial: { versions: ['stable', 'beta'], default: 'stable' },
      }),
      trust: 'open',
      webRoot: WEB_ROOT,
    });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it.each(['stable', 'beta'])(
    'a %s visitor gets that page build, bundle and version',
    async (lane) => {
      const context = await browser.newContext();
      await context.addCookies([{ name: 'gray', value: lane, url: gateway.url }]);
      const page = await context.newPage();
      const bundle = page.waitForResponse((r) => /\/main-\w+\.js$/.test(r.url()));
      const doc = await page.goto(`${gateway.url}/`);
      const html = (await doc?.text()) ?? '';
      expect(html).toContain(`<meta name="graylane-version" content="${lane}">`);
      expect(doc?.headers()['vary']).toBe('Cookie, X-Gray-Id');
      const js = new URL((await bundle).url()).pathname.slice(1);
      expect(readdirSync(join(WEB_ROOT, lane))).toContain(js);
      await page.waitForFunction(() => 'graylaneDemo' in globalThis);
      expect(await page.textContent('#build')).toBe(lane);
      expect(await page.textContent('#version')).toBe(lane);
      expect(await page.textContent('#build-note')).toBe('');
      await context.close();
    },
  );
});
