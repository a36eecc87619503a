import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, launch, PAGE } from './harness.js';

// `exclude` in real Chromium (review 101 F4): a same-origin path the app's server forwards to a
// third party (an analytics ingest, a CDN) never carries X-Gray-Id, through every client API
// graylane offers, however the URL is spelled — what Chromium puts on the wire is what a proxy
// routes by. Requests are answered by Playwright routing (nothing leaves the process). Page
// https://app.example.com, allow ['https://api.example.com'], exclude ['/proxy/',
// 'https://api.example.com/public/', /^\/ingest(\/|$)/].

const run = chromiumAvailable();
const APP = 'https://app.example.com';
const API = 'https://api.example.com';
const APIS = ['withGray', 'installFetch', 'installXHR', 'axios xhr', 'axios fetch'] as const;
type Api = (typeof APIS)[number];

// [target, marked?]
const TARGETS: Array<readonly [string, boolean]> = [
  ['/proxy/collect', false],
  ['/PROXY/collect', false],
  ['/%70roxy/collect', false],
  ['/proxy%2Fcollect', false],
  ['/a/..%2Fproxy/collect', false],
  ['/a/%2e%2e/proxy/collect', false],
  [`${APP}//proxy/collect`, false],
  ['/ingest', false],
  ['/proxy', false],
  ['/%70roxy/%FF', false],
  ['/x/..%2F%70roxy/%E9', false],
  ['/ingest/e?x=1', false],
  [`${API}/public/feed`, false],
  [`${API}/Public/feed`, false],
  [`${API}//public/feed`, false],
  // Controls: marked as before.
  ['/cart', true],
  ['/proxyx', true],
  ['/ingestion', true],
  [`${API}/v1`, true],
  [`${API}/v1?next=/public/`, true],
];

describe.skipIf(!run)('Chromium: exclude (paths forwarded to third parties)', () => {
  let browser: Browser;
  let sdk: string;
  let context: BrowserContext;
  let page: Page;
  const hits: Array<{ readonly url: string; readonly marker: string | undefined }> = [];

  beforeAll(async () => {
    [browser, sdk] = await Promise.all([launch(), bundleSdk()]);
    context = await browser.newContext();
    await context.route('**/*', (route) => {
      const r = route.request();
      if (r.url() === `${APP}/sdk.js`)
        return route.fulfill({ body: sdk, contentType: 'text/javascript' });
      if (r.isNavigationRequest()) return route.fulfill({ body: PAGE, contentType: 'text/html' });
      if (r.method() !== 'OPTIONS') hits.push({ url: r.url(), marker: r.headers()['x-gray-id'] });
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
      globalThis.graylane.initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        serverVersion: 'beta',
        allow: ['https://api.example.com'],
        exclude: globalThis.graylane.excludePaths([
          '/proxy/',
          'https://api.example.com/public/',
          /^\/ingest(\/|$)/,
        ]),
      });
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  /** Sends `target` through `which` in the page; the marker the route saw. */
  async function send(which: Api, target: string): Promise<string | undefined> {
    const before = hits.length;
    const status = await page.evaluate(
      async ([which, url]) => {
        const g = globalThis.graylane;
        const offs: Array<() => void> = [];
        try {
          switch (which) {
            case 'withGray':
              return (await g.withGray()(url)).status;
            case 'installFetch':
              offs.push(g.installFetch());
              return (await fetch(url)).status;
            case 'installXHR':
              offs.push(g.installXHR());
              return await new Promise<number>((resolve) => {
                const xhr = new XMLHttpRequest();
                xhr.onloadend = () => resolve(xhr.status);
                xhr.open('GET', url);
                xhr.send();
              });
            case 'axios xhr':
            case 'axios fetch': {
              const instance = g.axios.create({ adapter: which === 'axios xhr' ? 'xhr' : 'fetch' });
              g.attachGray(instance);
              return (await instance.get(url, { responseType: 'text' })).status;
            }
          }
        } finally {
          for (const off of offs) off();
        }
      },
      [which, target] as const,
    );
    expect(status).toBe(200);
    const sent = hits.slice(before);
    expect(sent).toHaveLength(1);
    return sent[0]?.marker;
  }

  // I8: XHR reads its URL at open(); a URL object the app changes before send() (reused for the
  // next call) must not move graylane's judgement onto an allowed URL (review 104 F3).
  it.each([
    ['a third party', 'https://third.example/t', undefined],
    ['an excluded path', `${APP}/proxy/collect`, undefined],
    ['an excluded URL prefix', `${API}/public/feed`, undefined],
    ['control: an allowed URL', `${APP}/cart`, 'beta'],
  ] as const)(
    'I8 installXHR open(GET, URL object) to %s, the object changed to /cart before send(): judged as opened',
    async (_name, target, marker) => {
      const before = hits.length;
      await page.evaluate(async (t) => {
        const off = globalThis.graylane.installXHR();
        try {
          const u = new URL(t);
          const xhr = new XMLHttpRequest();
          const done = new Promise((resolve) => (xhr.onloadend = resolve));
          xhr.open('GET', u);
          u.href = `${location.origin}/cart?changed`;
          xhr.send();
          await done;
        } finally {
          off();
        }
      }, target);
      expect(hits.slice(before)).toEqual([{ url: target, marker }]);
    },
  );

  // I8: attachGray judges the URL the adapter sends to, built from the request's own config. An
  // interceptor that removes a field the instance's defaults still hold must not make graylane
  // judge another URL (axios' getUri merges the defaults back; review 104 F4).
  it.each(
    (['xhr', 'fetch'] as const).flatMap((adapter) =>
      (
        [
          [
            'allowAbsoluteUrls: false removed, an absolute third-party URL',
            { baseURL: API, allowAbsoluteUrls: false },
            'allowAbsoluteUrls',
            'https://third.example/t',
            undefined,
          ],
          [
            'a third-party baseURL removed, a relative URL',
            { baseURL: 'https://third.example' },
            'baseURL',
            '/cart',
            'beta',
          ],
          [
            'an allowlisted baseURL removed, an excluded relative URL',
            { baseURL: API },
            'baseURL',
            '/proxy/x',
            undefined,
          ],
        ] as const
      ).map(([name, defaults, removed, url, marker]) => ({
        adapter,
        name,
        defaults,
        removed,
        url,
        marker,
      })),
    ),
  )(
    'I8 attachGray $adapter, an interceptor removes $name: judged where it is sent',
    async ({ adapter, defaults, removed, url, marker }) => {
      const before = hits.length;
      await page.evaluate(
        async ([adapter, defaults, removed, url]) => {
          const g = globalThis.graylane;
          const instance = g.axios.create({ adapter, ...defaults });
          instance.interceptors.request.use((c) => {
            Reflect.deleteProperty(c, removed);
            return c;
          });
          g.attachGray(instance);
          await instance.get(url, { responseType: 'text' });
        },
        [adapter, defaults, removed, url] as const,
      );
      const sent = hits.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]?.marker).toBe(marker);
    },
  );

  it.each(APIS.flatMap((which) => TARGETS.map(([target, marked]) => ({ which, target, marked }))))(
    'F4 $which $target: marked $marked',
    async ({ which, target, marked }) => {
      expect(await send(which, target)).toBe(marked ? 'beta' : undefined);
    },
  );
});
