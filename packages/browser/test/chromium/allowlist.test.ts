import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, expectHostCookieBeta, launch, PAGE } from './harness.js';

// The S-BR "evil URL" suite and the https cookie rows in real Chromium. Every request of the
// context is answered by Playwright routing (nothing leaves the process), which gives the page
// the https origins of RELIABILITY §2: page https://app.example.com, allow
// ['https://api.example.com', /^https:\/\/svc-\d+\.example\.com\//].

const run = chromiumAvailable();
const APP = 'https://app.example.com';

interface Hit {
  readonly url: string;
  readonly marker: string | undefined;
}

describe.skipIf(!run)('Chromium: S-BR allowlist and https cookies (BC)', () => {
  let browser: Browser;
  let sdk: string;
  let context: BrowserContext;
  let page: Page;
  const hits: Hit[] = [];

  beforeAll(async () => {
    [browser, sdk] = await Promise.all([launch(), bundleSdk()]);
    context = await browser.newContext();
    await context.route('**/*', (route) => {
      const r = route.request();
      if (r.url() === `${APP}/sdk.js`)
        return route.fulfill({ body: sdk, contentType: 'text/javascript' });
      if (r.isNavigationRequest()) return route.fulfill({ body: PAGE, contentType: 'text/html' });
      hits.push({ url: r.url(), marker: r.headers()['x-gray-id'] });
      return route
        .fulfill({
          body: 'ok',
          headers: {
            'access-control-allow-origin': APP,
            'access-control-allow-headers': 'x-gray-id',
          },
        })
        .catch(() => route.abort());
    });
    page = await context.newPage();
    await page.goto(`${APP}/`);
    await page.evaluate(() => {
      const g = globalThis.graylane;
      // The server's hand-off rules the page view; the QA choice stores it (BC-01 reads it).
      g.initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        serverVersion: 'beta',
        allow: ['https://api.example.com', /^https:\/\/svc-\d+\.example\.com\//],
      }).setGrayVersion('beta');
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  /** Fetches `target` through withGray in the page; returns whether the marker arrived. */
  async function sent(target: string): Promise<boolean | 'not-sent'> {
    const before = hits.length;
    const outcome = await page.evaluate(async (t) => {
      try {
        await globalThis.graylane.withGray()(t);
        return 'ok';
      } catch (e) {
        return String(e);
      }
    }, target);
    const hit = hits.slice(before).find(() => true);
    if (!hit) return outcome === 'ok' ? false : 'not-sent';
    return hit.marker === 'beta';
  }

  const rows: Array<[id: string, target: string, expected: boolean]> = [
    ['BR-01 same origin, relative', '/api/x', true],
    ['BR-02 same origin, absolute', 'https://app.example.com/x', true],
    ['BR-03 protocol-relative //evil.com', '//evil.com/x', false],
    ['BR-04 allowlisted exact origin', 'https://api.example.com/v1', true],
    [
      'BR-05 allowlisted host as a prefix of another host',
      'https://api.example.com.evil.com/v1',
      false,
    ],
    ['BR-06 allowlisted origin in the query', 'https://evil.com/?u=https://api.example.com', false],
    ['BR-06 allowlisted origin in the fragment', 'https://evil.com/#api.example.com', false],
    ['BR-07 allowlisted origin as userinfo', 'https://api.example.com@evil.com/', false],
    ['BR-08 scheme downgrade', 'http://api.example.com/', false],
    ['BR-08 other port', 'https://api.example.com:444/', false],
    ['BR-09 upper-case scheme and host', 'HTTPS://API.EXAMPLE.COM/', true],
    ['BR-10 IDN lookalike', 'https://xn--pple-43d.com/', false],
    ['BR-10 trailing dot is another origin (documented)', 'https://api.example.com./', false],
    ['BR-12 anchored regex match', 'https://svc-1.example.com/', true],
    ['BR-12 regex host as a prefix of another host', 'https://svc-1.example.com.evil.com/', false],
    ['BR-12 regex origin inside the path', 'https://x.com/https://svc-1.example.com/', false],
  ];

  it.each(rows)('%s → %s', async (_id, target, expected) => {
    const result = await sent(target);
    if (expected) expect(result).toBe(true);
    else expect(result === false || result === 'not-sent').toBe(true);
  });

  // XHR resolves its URL at open(), against the document base URL of that moment; a `<base href>`
  // changed before send() (a router, injected markup) must not change what graylane judges.
  const BASES = [
    ['https://evil.com/d/', `${APP}/d/`],
    ['https://evil.com/d/', 'https://api.example.com/d/'],
    ['https://evil.com/d/', 'https://svc-2.example.com/d/'],
    [`${APP}/d/`, 'https://evil.com/d/'],
    ['https://api.example.com/d/', 'https://evil.com/d/'],
    ['https://svc-2.example.com/d/', 'https://api.example.com.evil.com/d/'],
  ] as const;
  it.each(
    BASES.flatMap(([atOpen, atSend]) =>
      ['x', './y/z', '../up', '?q=1', ''].map((url) => ({ atOpen, atSend, url })),
    ),
  )(
    'I8 BR-01 installXHR: open($url) under <base href=$atOpen>, base changed to $atSend before send: judged where XHR sends it',
    async ({ atOpen, atSend, url }) => {
      const before = hits.length;
      await page.evaluate(
        async ([atOpen, atSend, url]) => {
          const uninstall = globalThis.graylane.installXHR();
          const base = document.head.appendChild(document.createElement('base'));
          base.href = atOpen;
          try {
            await new Promise((resolve) => {
              const xhr = new XMLHttpRequest();
              xhr.open('GET', url);
              base.href = atSend;
              xhr.onloadend = resolve;
              xhr.send();
            });
          } finally {
            base.remove();
            uninstall();
          }
        },
        [atOpen, atSend, url] as const,
      );
      const target = new URL(url, atOpen);
      const allowed = /^https:\/\/(app|api|svc-2)\.example\.com$/.test(target.origin);
      expect(hits.slice(before)).toEqual([
        { url: target.href, marker: allowed ? 'beta' : undefined },
      ]);
    },
  );

  it('BR-07 userinfo on the allowlisted origin: sent (XHR; fetch refuses such URLs), userinfo never logged', async () => {
    const before = hits.length;
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    await page.evaluate(async () => {
      const g = globalThis.graylane;
      const uninstall = g.installXHR();
      await new Promise((resolve) => {
        const xhr = new XMLHttpRequest();
        xhr.open('GET', 'https://user:pw@api.example.com/userinfo');
        xhr.onloadend = resolve;
        xhr.send();
      });
      uninstall();
    });
    expect(hits.slice(before).map((h) => [new URL(h.url).pathname, h.marker])).toEqual([
      ['/userinfo', 'beta'],
    ]);
    expect(logs.join('\n')).not.toContain('pw');
  });

  it('BR-11 data:, blob:, about:blank and a malformed URL get no header and no throw', async () => {
    const results = await page.evaluate(async () => {
      const g = globalThis.graylane;
      const f = g.withGray();
      const blob = URL.createObjectURL(new Blob(['x']));
      const out: string[] = [];
      for (const t of [
        'data:text/plain,x',
        blob,
        'about:blank',
        'http://[::1',
        'https://exa[mple.com/',
      ]) {
        try {
          await f(t);
          out.push('resolved');
        } catch (e) {
          out.push((e as Error).name);
        }
      }
      return out;
    });
    // The SDK never throws itself: whatever fails is fetch's own TypeError for that URL.
    for (const r of results) expect(['resolved', 'TypeError']).toContain(r);
    expect(hits.filter((h) => h.marker !== undefined && !/example\.com/.test(h.url))).toEqual([]);
  });

  it('BR-13 a reused Request, frozen init.headers and every HeadersInit form: one header, caller untouched', async () => {
    const before = hits.length;
    const report = await page.evaluate(async () => {
      const f = globalThis.graylane.withGray();
      const req = new Request('/api/reuse', { headers: { 'x-app': '1' } });
      await f(req);
      await f(req);
      const frozen = Object.freeze({ 'x-app': '2' });
      await f('/api/frozen', Object.freeze({ headers: frozen }));
      const h = new Headers({ 'x-app': '3' });
      await f('/api/headers', { headers: h });
      await f('/api/tuples', { headers: [['x-app', '4']] });
      await f('/api/caller', { headers: { 'X-Gray-Id': 'stable' } });
      return {
        reqHas: req.headers.has('x-gray-id'),
        frozenKeys: Object.keys(frozen),
        hHas: h.has('x-gray-id'),
      };
    });
    expect(report).toEqual({ reqHas: false, frozenKeys: ['x-app'], hHas: false });
    const got = hits.slice(before).map((h) => [new URL(h.url).pathname, h.marker]);
    expect(got).toEqual([
      ['/api/reuse', 'beta'],
      ['/api/reuse', 'beta'],
      ['/api/frozen', 'beta'],
      ['/api/headers', 'beta'],
      ['/api/tuples', 'beta'],
      ['/api/caller', 'stable'],
    ]);
  });

  it('BR-14 a throwing RegExp-like entry is refused at init; a throwing rule never reaches the page', async () => {
    const out = await page.evaluate(() => {
      const g = globalThis.graylane;
      let initError = '';
      try {
        g.initGray({ versions: ['stable'], default: 'stable', allow: [/evil/] });
      } catch (e) {
        initError = (e as Error).message;
      }
      const c = g.initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        cookie: false,
        rules: () => {
          throw new Error('bug');
        },
      });
      return { initError, version: c.getGrayVersion(), reason: c.getGrayReason() };
    });
    expect(out.initError).toMatch(/\[graylane\].*anchored/);
    expect(out).toMatchObject({ version: 'stable', reason: 'default' });
  });

  it('BC-01 https, single host: __Host-gray=beta; Path=/; Secure; SameSite=Lax; Max-Age=30d; no Domain', async () => {
    await expectHostCookieBeta(context, APP);
  });

  it('BC-06 Max-Age=99999999 requested is clamped to 30 days', async () => {
    await page.evaluate(() => {
      const g = globalThis.graylane;
      g.initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        cookie: { name: 'long', maxAgeSeconds: 99_999_999 },
      }).setGrayVersion('beta');
    });
    const cookie = (await context.cookies(APP)).find((c) => c.name === '__Host-long');
    expect((cookie?.expires ?? 0) - Date.now() / 1000).toBeLessThanOrEqual(2_592_000 + 1);
  });

  it('BC-02 cross-subdomain: __Secure-gray with Domain; a sibling can toss it, but not a __Host- cookie (CK-02)', async () => {
    await page.evaluate(() => {
      const g = globalThis.graylane;
      g.initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        cookie: { name: 'shared', domain: 'example.com' },
      }).setGrayVersion('beta');
    });
    const shared = (await context.cookies(APP)).find((c) => c.name === '__Secure-shared');
    expect(shared).toMatchObject({
      value: 'beta',
      domain: '.example.com',
      secure: true,
      sameSite: 'Lax',
    });
    const sibling = await context.newPage();
    await sibling.goto('https://evil.example.com/');
    await sibling.evaluate(() => {
      document.cookie = '__Secure-shared=stable; Domain=example.com; Path=/; Secure';
      document.cookie = '__Host-gray=stable; Domain=example.com; Path=/; Secure';
    });
    await sibling.close();
    const after = await context.cookies(APP);
    expect(after.find((c) => c.name === '__Secure-shared')?.value).toBe('stable'); // the documented tossing risk
    expect(after.filter((c) => c.name === '__Host-gray').map((c) => c.value)).toEqual(['beta']);
  });
});
