import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';

/** What the running suite gives the hand-off rows (read when a row runs). */
export interface HandOffServers {
  readonly origin: string;
  readonly browser: Browser;
}

interface Seen {
  /** `readServerVersion()` and the browser SDK's own read (`initGray(…).serverVersion`). */
  readonly read: string;
  readonly head: string[];
  readonly body: string[];
}

const meta = (v: string): string => `<meta name="graylane-version" content="${v}">`;
const echo = (html: string): string => `echo=${encodeURIComponent(html)}`;

/**
 * Page shapes of the hand-off on a real Next build (review F9): the path, the `X-Gray-Id` the
 * browser sends (the proxy's decision), the head and body metas the page then holds, and what
 * both readers — `readServerVersion()` and the browser SDK — read. They always agree, and only
 * the meta `<GrayMeta />` put in `<head>` can set the version: an echoed body meta never does.
 */
const ROWS: readonly (readonly [string, string, string | undefined, string[], string[], string])[] =
  [
    ['head only (GrayMeta)', '/handoff', 'beta', ['beta'], [], 'beta beta'],
    [
      'body only: echoed user content outside the matcher is ignored',
      `/outside/handoff?${echo(meta('canary'))}`,
      undefined,
      [],
      ['canary'],
      'none none',
    ],
    [
      'body only, several echoed metas',
      `/outside/handoff?${echo(`<p>${meta('beta')}</p>${meta('beta')}`)}`,
      undefined,
      [],
      ['beta', 'beta'],
      'none none',
    ],
    [
      'head and an echoed body meta that disagree: the head',
      `/handoff?${echo(meta('canary'))}`,
      'beta',
      ['beta'],
      ['canary'],
      'beta beta',
    ],
    [
      'several head metas that disagree (the page renders one, React hoists it): none',
      '/handoff?hoist=canary',
      'beta',
      ['beta', 'canary'],
      [],
      'none none',
    ],
    [
      'several head metas that agree',
      '/handoff?hoist=stable',
      'stable',
      ['stable', 'stable'],
      [],
      'stable stable',
    ],
  ];

/** The hand-off as both readers see it, and where the page's metas are, after a fresh read. */
async function seen(page: Page): Promise<Seen> {
  await page.click('#reread');
  return page.evaluate(() => {
    const contents = (root: ParentNode | null): string[] =>
      Array.from(
        root?.querySelectorAll<HTMLMetaElement>('meta[name="graylane-version"]') ?? [],
        (m) => m.content,
      );
    return {
      read: document.querySelector('#handoff')?.textContent ?? '',
      head: contents(document.head).sort(),
      body: contents(document.body).sort(),
    };
  });
}

/** HDR-07 / review F9: the `<meta>` hand-off on every page shape, in Chromium. */
export function describeHandOff(servers: () => HandOffServers): void {
  it.each(ROWS)('HDR-07 hand-off: %s', async (_name, path, version, head, body, read) => {
    const { origin, browser } = servers();
    const context = await browser.newContext(
      version ? { extraHTTPHeaders: { 'x-gray-id': version } } : {},
    );
    try {
      const page = await context.newPage();
      expect((await page.goto(`${origin}${path}`))?.status()).toBe(200);
      await page.waitForFunction(() => document.querySelector('#handoff')?.textContent !== '');
      expect(await seen(page)).toEqual({ read, head, body });
    } finally {
      await context.close();
    }
  });

  it('HDR-07 hand-off: metadata Next streams into the body after the first chunk is never read; GrayMeta in <head> is', async () => {
    const { origin, browser } = servers();
    const context = await browser.newContext({ extraHTTPHeaders: { 'x-gray-id': 'beta' } });
    try {
      const page = await context.newPage();
      const id = `hold-${Date.now()}-${Math.random()}`;
      const loaded = page.goto(`${origin}/handoff?hold=${encodeURIComponent(id)}`);
      // The first chunk (layout, page, the probe) is in the browser while the metadata is held.
      await page.waitForSelector('#handoff', { state: 'attached' });
      let released = false;
      for (let i = 0; !released && i < 200; i++) {
        const res = await fetch(`${origin}/handoff/release?id=${encodeURIComponent(id)}`);
        released = ((await res.json()) as { released: boolean }).released;
        if (!released) await new Promise((r) => setTimeout(r, 50));
      }
      expect(released).toBe(true);
      expect((await loaded)?.status()).toBe(200);
      await page.waitForFunction(() =>
        document.body.querySelector('meta[name="graylane-version"]'),
      );
      // The streamed shape: grayMetadata()'s tag is in the body, GrayMeta's in the head.
      expect(await seen(page)).toEqual({ read: 'beta beta', head: ['beta'], body: ['beta'] });
    } finally {
      await context.close();
    }
  });
}
