import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, launch, PAGE, serve, type TestServer } from './harness.js';

// S-CORS, BR-15, BC-03/04/05, OUT-04 and LD-07 in real Chromium against three node:http servers
// on loopback: the app (http://127.0.0.1:P), an allowlisted API (http://localhost:Q) and a third
// party (http://127.0.0.1:R, permissive CORS so that any leaked marker would be observed).

const run = chromiumAvailable();

describe.skipIf(!run)('Chromium: CORS, cookies and LD-07 on loopback origins', () => {
  let browser: Browser;
  let sdk: string;
  let app: TestServer;
  let api: TestServer;
  let third: TestServer;
  let context: BrowserContext;
  let page: Page;
  let logs: string[];

  function appHandler(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname === '/sdk.js')
      return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    if (url.pathname === '/assign')
      return void res.writeHead(200, { 'x-gray-id': 'beta' }).end('ok');
    if (url.pathname === '/set-cookie')
      return void res.writeHead(200, { 'set-cookie': 'gray=beta; Path=/; SameSite=Lax' }).end('ok');
    if (url.pathname === '/set-httponly')
      return void res
        .writeHead(200, {
          'set-cookie': `gray=${url.searchParams.get('v') ?? 'stable'}; Path=/; SameSite=Lax; HttpOnly`,
        })
        .end('ok');
    if (url.pathname === '/' || url.pathname === '/form')
      return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (url.pathname === '/sandboxed') {
      const frame = `<iframe sandbox="allow-scripts" srcdoc="${PAGE.replace(/"/g, '&quot;').replace('/sdk.js', `${app.origin}/sdk.js`)}"></iframe>`;
      return void res.writeHead(200, { 'content-type': 'text/html' }).end(frame);
    }
    void req;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  }

  function apiHandler(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const allowHeaders = url.pathname.startsWith('/no')
      ? 'content-type'
      : 'content-type, x-gray-id';
    const allowMethods = 'GET, PUT, DELETE, POST, PATCH';
    const headers: Record<string, string> =
      url.pathname === '/star'
        ? { 'access-control-allow-origin': '*', 'access-control-allow-headers': allowHeaders }
        : {
            'access-control-allow-origin': app.origin,
            'access-control-allow-headers': allowHeaders,
            'access-control-allow-methods': allowMethods,
            'access-control-max-age': '86400',
            'access-control-expose-headers': 'x-gray-id',
            vary: 'origin',
          };
    res
      .writeHead(req.method === 'OPTIONS' ? 204 : 200, headers)
      .end(req.method === 'OPTIONS' ? undefined : 'ok');
  }

  function thirdHandler(req: IncomingMessage, res: ServerResponse): void {
    const headers = {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': '*',
      'access-control-max-age': '86400',
    };
    res
      .writeHead(req.method === 'OPTIONS' ? 204 : 200, headers)
      .end(req.method === 'OPTIONS' ? undefined : 'ok');
  }

  beforeAll(async () => {
    [browser, sdk, app, api, third] = await Promise.all([
      launch(),
      bundleSdk(),
      serve('127.0.0.1', (req, res, url) => appHandler(req, res, url)),
      serve('localhost', (req, res, url) => apiHandler(req, res, url)),
      serve('127.0.0.1', (req, res) => thirdHandler(req, res)),
    ]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([app?.close(), api?.close(), third?.close()]);
  });

  beforeEach(async () => {
    await context?.close();
    for (const s of [app, api, third]) s.seen.length = 0;
    context = await browser.newContext();
    page = await context.newPage();
    logs = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    await page.goto(`${app.origin}/`);
  });

  /** initGray in the page with the API origin allowlisted; returns the version. */
  function init(extra: Record<string, unknown> = {}): Promise<string> {
    return page.evaluate(
      ([allow, more]) =>
        globalThis.graylane
          .initGray({ versions: ['stable', 'beta'], default: 'stable', allow: [allow], ...more })
          .getGrayVersion(),
      [api.origin, extra] as const,
    );
  }

  /** initGray, then a QA choice of `version`: stored in the cookie (a hand-off never is). */
  function initStored(version: string): Promise<boolean> {
    return page.evaluate(
      ([allow, v]) =>
        globalThis.graylane
          .initGray({ versions: ['stable', 'beta'], default: 'stable', allow: [allow] })
          .setGrayVersion(v),
      [api.origin, version] as const,
    );
  }

  /** fetch through withGray in the page; resolves to the status or the error name. */
  function grayFetch(url: string, init: RequestInit = {}): Promise<string> {
    return page.evaluate(
      ([u, i]) =>
        globalThis.graylane
          .withGray()(u, i)
          .then(
            (r: Response) => String(r.status),
            (e: Error) => e.name,
          ),
      [url, init] as const,
    );
  }

  it('CORS-01 allowlisted API allows X-Gray-Id: preflight 204, then the request carries the header', async () => {
    await init({ serverVersion: 'beta' });
    expect(await grayFetch(`${api.origin}/ok`)).toBe('200');
    const [preflight, actual] = api.seen;
    expect(preflight).toMatchObject({ method: 'OPTIONS', path: '/ok' });
    expect(preflight?.acrh).toContain('x-gray-id');
    expect(actual).toMatchObject({ method: 'GET', path: '/ok', marker: 'beta' });
  });

  it.each([
    ['GET', '200'],
    ['HEAD', '200'],
    ['PUT', 'TypeError'],
    ['DELETE', 'TypeError'],
    ['POST', 'TypeError'],
    ['PATCH', 'TypeError'],
  ])(
    'CORS-02 API omits X-Gray-Id, %s: safe requests go through without the marker (RDR-03), writes fail as documented (never sent twice); the browser names the header and Access-Control-Allow-Headers; third parties unaffected',
    async (method, expected) => {
      await init({ serverVersion: 'beta' });
      expect(await grayFetch(`${api.origin}/no-1`, { method })).toBe(expected);
      expect(await grayFetch(`${api.origin}/no-2`, { method })).toBe(expected);
      const actual = api.seen.filter((s) => s.method === method);
      // A refused preflight means the marked request never left; a repeatable one is re-sent plain.
      expect(actual.map((s) => [s.path, s.marker])).toEqual(
        expected === '200'
          ? [
              ['/no-1', undefined],
              ['/no-2', undefined],
            ]
          : [],
      );
      // The diagnosis is the browser's own, for every refused attempt, in every mode: it names the
      // URL, the header and Access-Control-Allow-Headers (graylane prints nothing of its own).
      const refused = (): string[] => logs.filter((l) => /x-gray-id/i.test(l));
      await expect.poll(() => refused().length).toBe(2);
      for (const [i, line] of refused().entries()) {
        expect(line).toContain(`${api.origin}/no-${i + 1}`);
        expect(line).toContain('Access-Control-Allow-Headers');
      }
      expect(logs.filter((l) => l.includes('[graylane]'))).toEqual([]);
      // A non-allowlisted origin never gets the header, so its CORS setup cannot break.
      expect(await grayFetch(`${third.origin}/x`)).toBe('200');
      expect(third.seen).toEqual([expect.objectContaining({ method: 'GET', marker: undefined })]);
    },
  );

  it('CORS-03 Access-Control-Max-Age 86400: Chromium preflights at most once per URL/method/header set', async () => {
    await init({ serverVersion: 'beta' });
    for (let i = 0; i < 20; i++) expect(await grayFetch(`${api.origin}/ok`)).toBe('200');
    expect(api.seen.filter((s) => s.method === 'OPTIONS')).toHaveLength(1);
    expect(api.seen.filter((s) => s.method === 'GET' && s.marker === 'beta')).toHaveLength(20);
  });

  it("CORS-04 credentials 'include' + Access-Control-Allow-Origin '*': the browser's error is not masked", async () => {
    await init({ serverVersion: 'beta' });
    const raw = await page.evaluate(
      (u) =>
        fetch(u, { credentials: 'include' }).then(
          () => 'ok',
          (e: Error) => e.name,
        ),
      `${api.origin}/star`,
    );
    expect(raw).toBe('TypeError');
    expect(await grayFetch(`${api.origin}/star`, { credentials: 'include' })).toBe(raw);
  });

  it('BR-15 navigations, sendBeacon and <img> carry the marker by cookie, not by header', async () => {
    expect(await initStored('beta')).toBe(true);
    await page.evaluate(() => {
      navigator.sendBeacon('/beacon', 'x');
      const img = new Image();
      img.src = '/pixel';
    });
    await page.evaluate(() => {
      const f = document.createElement('form');
      f.action = '/form';
      f.method = 'post';
      document.body.append(f);
      f.submit();
    });
    await page.waitForURL(/\/form$/);
    await expect
      .poll(() => app.seen.filter((s) => ['/beacon', '/pixel', '/form'].includes(s.path)).length)
      .toBe(3);
    for (const s of app.seen.filter((x) => ['/beacon', '/pixel', '/form'].includes(x.path))) {
      expect(s.cookie).toContain('gray=beta');
      expect(s.marker).toBeUndefined();
    }
  });

  it.each([
    ['another version', 'stable'],
    ['the same version', 'beta'],
  ])(
    'STK-04 a QA choice over the server’s HttpOnly cookie (%s) says it was not stored',
    async (_what, held) => {
      // A server with the default sticky options (HttpOnly) set the cookie: the page cannot
      // overwrite it, so a reload would bring the server's version back. setGrayVersion says so.
      await page.evaluate((v) => fetch(`/set-httponly?v=${v}`), held);
      const out = await page.evaluate(() => {
        const c = globalThis.graylane.initGray({ versions: ['stable', 'beta'], default: 'stable' });
        const ok = c.setGrayVersion('beta');
        return { ok, version: c.getGrayVersion() };
      });
      expect(out).toEqual({ ok: false, version: 'beta' });
      await page.reload();
      await page.evaluate(() => fetch('/after'));
      expect(app.seen.filter((s) => s.path === '/after').at(-1)?.cookie).toContain(`gray=${held}`);
    },
  );

  it('BC-03 http: unprefixed name, no Secure, SameSite=Lax (never None)', async () => {
    expect(await initStored('beta')).toBe(true);
    const cookies = await context.cookies(app.origin);
    expect(cookies.find((c) => c.name === 'gray')).toMatchObject({
      value: 'beta',
      secure: false,
      sameSite: 'Lax',
      path: '/',
    });
    expect(
      cookies.some((c) => c.name.startsWith('__Host-') || c.name.startsWith('__Secure-')),
    ).toBe(false);
  });

  it('BC-04 stable → beta overwrites: document.cookie holds one gray', async () => {
    const cookie = await page.evaluate(() => {
      const c = globalThis.graylane.initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
      });
      c.setGrayVersion('stable');
      c.setGrayVersion('beta');
      return document.cookie;
    });
    expect(cookie.split('; ').filter((p) => p.startsWith('gray='))).toEqual(['gray=beta']);
  });

  it('BC-05 sandboxed iframe (document.cookie throws): works in memory, no throw', async () => {
    await page.goto(`${app.origin}/sandboxed`);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    await expect.poll(() => frame?.evaluate(() => typeof globalThis.graylane)).toBe('object');
    const out = await frame?.evaluate(() => {
      let cookieThrows = false;
      try {
        void document.cookie;
      } catch {
        cookieThrows = true;
      }
      const c = globalThis.graylane.initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
      });
      const ok = c.setGrayVersion('beta');
      return { cookieThrows, ok, version: c.getGrayVersion() };
    });
    expect(out).toEqual({ cookieThrows: true, ok: true, version: 'beta' });
  });

  it.each(['withGray', 'installFetch', 'installXHR', 'axios xhr', 'axios fetch'] as const)(
    'one page view, one version (%s): X-Gray-Id and Set-Cookie on responses never switch the page; the next page view reads the cookie',
    async (transport) => {
      const during = await page.evaluate(async (which) => {
        const g = globalThis.graylane;
        const seen: string[] = [];
        const c = g.initGray({
          versions: ['stable', 'beta'],
          default: 'stable',
          serverVersion: 'stable',
          onAssign: (v: string, r: string) => seen.push(`${v}:${r}`),
        });
        const get = async (path: string): Promise<void> => {
          if (which === 'withGray') await g.withGray()(path);
          else if (which === 'installFetch') {
            const off = g.installFetch();
            await fetch(path);
            off();
          } else if (which === 'installXHR') {
            const off = g.installXHR();
            await new Promise((done) => {
              const x = new XMLHttpRequest();
              x.open('GET', path);
              x.onloadend = done;
              x.send();
            });
            off();
          } else {
            const ax = g.axios.create({ adapter: which === 'axios xhr' ? 'xhr' : 'fetch' });
            g.attachGray(ax);
            await ax.get(path);
          }
        };
        for (const path of ['/assign', '/set-cookie', '/after']) await get(path);
        return { seen, version: c.getGrayVersion() };
      }, transport);
      // The page keeps the version it was rendered for, and every call of it carries that version.
      expect(during).toEqual({ seen: ['stable:server'], version: 'stable' });
      expect(app.seen.filter((s) => s.path === '/after').map((s) => s.marker)).toEqual(['stable']);
      // The server's Set-Cookie is the next page view's cookie.
      await page.reload();
      const next = await page.evaluate(() => {
        const c = globalThis.graylane.initGray({ versions: ['stable', 'beta'], default: 'stable' });
        return `${c.getGrayVersion()}:${c.getGrayReason()}`;
      });
      expect(next).toBe('beta:cookie');
    },
  );

  it('OUT-04 axios interceptor + fetch patch + XHR patch together: the header appears exactly once', async () => {
    await init({ serverVersion: 'beta' });
    await page.evaluate(async (apiOrigin) => {
      const g = globalThis.graylane;
      const offFetch = g.installFetch();
      const offXhr = g.installXHR();
      expect2(g.installFetch() === offFetch && g.installXHR() === offXhr);
      const xhrAxios = g.axios.create({ adapter: 'xhr' });
      const fetchAxios = g.axios.create({ adapter: 'fetch' });
      g.attachGray(xhrAxios);
      g.attachGray(fetchAxios);
      await xhrAxios.get('/axios-xhr');
      await fetchAxios.get('/axios-fetch');
      await xhrAxios.get(`${apiOrigin}/ok-axios`);
      await fetch('/patched-fetch');
      offFetch();
      offXhr();
      await fetch('/after-uninstall');
      function expect2(ok: boolean): void {
        if (!ok) throw new Error('install is not idempotent');
      }
    }, api.origin);
    const markers = Object.fromEntries(app.seen.map((s) => [s.path, s.marker]));
    expect(markers).toMatchObject({
      '/axios-xhr': 'beta',
      '/axios-fetch': 'beta',
      '/patched-fetch': 'beta',
      '/after-uninstall': undefined,
    });
    expect(api.seen.find((s) => s.method === 'GET')?.marker).toBe('beta');
  });

  it('LD-07 1,000 fetches to same-origin, allowlisted and third-party targets: 0 markers to the third party', async () => {
    await init({ serverVersion: 'beta' });
    const started = Date.now();
    const results = await page.evaluate(
      async ([apiOrigin, thirdOrigin]) => {
        const f = globalThis.graylane.withGray();
        const targets = Array.from({ length: 1000 }, (_, i) =>
          i % 3 === 0 ? `/same/${i}` : i % 3 === 1 ? `${apiOrigin}/ok/ld` : `${thirdOrigin}/t/${i}`,
        );
        // The first API request goes alone: Chromium caches a preflight only once it completes, so
        // a cold burst of concurrent requests would each preflight (documented in docs/browser.md).
        const out: string[] = [await f(targets[1] ?? '').then((r: Response) => String(r.status))];
        targets.splice(1, 1);
        for (let i = 0; i < targets.length; i += 50) {
          out.push(
            ...(await Promise.all(
              targets.slice(i, i + 50).map((t) =>
                f(t).then(
                  (r: Response) => String(r.status),
                  (e: Error) => e.name,
                ),
              ),
            )),
          );
        }
        return out;
      },
      [api.origin, third.origin] as const,
    );
    expect(results.filter((r) => r !== '200')).toEqual([]);
    const sameGets = app.seen.filter((s) => s.path.startsWith('/same/'));
    const apiGets = api.seen.filter((s) => s.method === 'GET');
    const thirdAll = third.seen;
    expect(sameGets).toHaveLength(334);
    expect(sameGets.every((s) => s.marker === 'beta')).toBe(true);
    expect(apiGets).toHaveLength(333);
    expect(apiGets.every((s) => s.marker === 'beta')).toBe(true);
    expect(thirdAll.filter((s) => s.method === 'GET')).toHaveLength(333);
    expect(thirdAll.filter((s) => s.marker !== undefined || s.acrh?.includes('x-gray-id'))).toEqual(
      [],
    );
    expect(thirdAll.filter((s) => s.method === 'OPTIONS')).toEqual([]);
    // One (origin, method, header set) tuple to the API: at most one preflight (≤ 1 per 7200 s).
    expect(api.seen.filter((s) => s.method === 'OPTIONS').length).toBeLessThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
