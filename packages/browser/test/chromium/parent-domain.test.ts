import { bucket } from '@graylane/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, launch, PAGE } from './harness.js';

// CK-02 / BC-02 (review F6) in real Chromium: a cookie of graylane's name that the page did not
// write — set for the parent domain by a sibling app (its graylane with `cookie.domain`, its
// script, its server), a Domain=app.example.com cookie of an older deploy beside the page's
// host-only one, or a host-only one beside the page's `cookie.domain` one — shows in
// document.cookie beside the page's own. Two values that disagree were ambiguous on every page
// view: the QA choice dropped, the anonymous id redrawn every view. The page's own cookie now
// wins, the other one is never touched, and the server sees the page's version on every API call.
// Pages on http(s)://app.example.com and http(s)://other.example.com are served by Playwright
// routing (nothing leaves the process).

const run = chromiumAvailable();
const VERSIONS = ['stable', 'beta', 'canary'];
const OTHER_ID = 'e'.repeat(32);

/** Rows as `[title, row]` for `it.each(…)('%s', …)`: titles in full, unquoted. */
const titled = <T>(rows: readonly T[], title: (row: T) => string) =>
  rows.map((row) => [title(row), row] as const);

/** How the other cookie gets there. */
type How = 'sibling graylane' | 'sibling script' | 'sibling Set-Cookie' | 'app Set-Cookie';

interface Variant {
  readonly variant: string;
  readonly scheme: 'http' | 'https';
  readonly cookie?: { name?: string; anonymousIdName?: string; domain?: string };
  /** Names as written (the page's own and the other one share them, except `immune`). */
  readonly name: string;
  readonly aidName: string;
  /** The other cookie's attributes, and who sets it. */
  readonly attrs: string;
  /** The domain Chromium lists for the other cookie (a leading dot: not host-only). */
  readonly otherDomain: string;
  readonly how: readonly How[];
  /** The page's own names are `__Host-` ones: the other never collides (control). */
  readonly immune?: boolean;
}

const VARIANTS: readonly Variant[] = [
  {
    variant: 'http, default names, Domain=example.com',
    scheme: 'http',
    name: 'gray',
    aidName: 'gray_aid',
    attrs: 'Domain=example.com; Path=/',
    otherDomain: '.example.com',
    how: ['sibling graylane', 'sibling script', 'sibling Set-Cookie'],
  },
  {
    variant: 'http, configured names, Domain=example.com',
    scheme: 'http',
    cookie: { name: 'lane', anonymousIdName: 'lane_id' },
    name: 'lane',
    aidName: 'lane_id',
    attrs: 'Domain=example.com; Path=/',
    otherDomain: '.example.com',
    how: ['sibling script', 'sibling Set-Cookie', 'sibling graylane'],
  },
  {
    variant: 'http, Domain=app.example.com (older deploy) beside host-only',
    scheme: 'http',
    name: 'gray',
    aidName: 'gray_aid',
    attrs: 'Domain=app.example.com; Path=/',
    otherDomain: '.app.example.com',
    how: ['app Set-Cookie'],
  },
  {
    variant: 'https cookie.domain: host-only __Secure- (older deploy) beside Domain=example.com',
    scheme: 'https',
    cookie: { domain: 'example.com' },
    name: '__Secure-gray',
    aidName: '__Secure-gray_aid',
    attrs: 'Path=/; Secure',
    otherDomain: 'app.example.com',
    how: ['app Set-Cookie'],
  },
  {
    variant: 'https, __Host- names; unprefixed Domain=example.com',
    scheme: 'https',
    name: 'gray',
    aidName: 'gray_aid',
    attrs: 'Domain=example.com; Path=/; Secure',
    otherDomain: '.example.com',
    how: ['sibling script', 'sibling Set-Cookie'],
    immune: true,
  },
];

const VALUES: ReadonlyArray<readonly [label: string, value: string, aid: string]> = [
  ['the same version', 'canary', 'own'],
  ['another version', 'beta', OTHER_ID],
  ['invalid', 'BETA', 'not-an-id'],
];

interface View {
  readonly version: string;
  readonly reason: string;
  readonly id: string;
  readonly kept?: boolean;
}

describe.skipIf(!run)('Chromium: CK-02 the page’s own cookie wins over a parent-domain one', () => {
  let browser: Browser;
  let sdk: string;
  let context: BrowserContext;
  let page: Page;
  /** X-Gray-Id of every /api call, in order. */
  const markers: Array<string | undefined> = [];

  beforeAll(async () => {
    [browser, sdk] = await Promise.all([launch(), bundleSdk()]);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  beforeEach(async () => {
    await context?.close();
    markers.length = 0;
    context = await browser.newContext();
    await context.route('**/*', (route) => {
      const r = route.request();
      const url = new URL(r.url());
      if (url.pathname === '/sdk.js')
        return route.fulfill({ body: sdk, contentType: 'text/javascript' });
      if (url.pathname === '/api') {
        markers.push(r.headers()['x-gray-id']);
        return route.fulfill({ body: 'ok' });
      }
      // `/set?c=…`: a server answering with that Set-Cookie (several, `\n`-separated).
      const set = url.searchParams.get('c');
      return route.fulfill({
        body: PAGE,
        contentType: 'text/html',
        headers: set ? { 'set-cookie': set } : {},
      });
    });
    page = await context.newPage();
  });

  const origin = (v: Variant, host: 'app' | 'other') => `${v.scheme}://${host}.example.com`;

  /** Sets the other version and id cookies the way `how` says; back on no page afterwards. */
  async function plant(v: Variant, how: How, value: string, aid: string): Promise<void> {
    const cookies = [`${v.name}=${value}; ${v.attrs}`, `${v.aidName}=${aid}; ${v.attrs}`];
    const other = await context.newPage();
    if (how === 'sibling Set-Cookie' || how === 'app Set-Cookie') {
      const host = how === 'app Set-Cookie' ? 'app' : 'other';
      await other.goto(`${origin(v, host)}/set?c=${encodeURIComponent(cookies.join('\n'))}`);
    } else {
      await other.goto(`${origin(v, 'other')}/`);
      await other.evaluate(
        ([how, cookies, value, versions, name, aidName, aid]) => {
          // The sibling's graylane (same names, `cookie.domain`) stores a valid version; its
          // anonymous id, and anything graylane would not write, by script.
          if (how === 'sibling graylane' && versions.includes(value)) {
            const c = globalThis.graylane.initGray({
              versions,
              default: 'stable',
              cookie: { name, anonymousIdName: aidName, domain: 'example.com' },
            });
            c.setGrayVersion(value);
            document.cookie = cookies[1]!;
          } else for (const c of cookies) document.cookie = c;
          void aid;
        },
        [how, cookies, value, VERSIONS, v.name, v.aidName, aid] as const,
      );
    }
    await other.close();
  }

  /** One page view of the app: a 50/50 split, an /api call, optionally a QA choice or a clear. */
  async function view(v: Variant, act?: 'qa' | 'clear'): Promise<View> {
    await page.goto(`${origin(v, 'app')}/page`);
    return page.evaluate(
      async ([versions, cookie, act]) => {
        const g = globalThis.graylane;
        let id = '-';
        const split = g.split({ beta: 50 });
        const c = g.initGray({
          versions,
          default: 'stable',
          ...(cookie ? { cookie } : {}),
          rules: (ctx) => ((id = ctx.anonymousId), split(ctx)),
        });
        const kept = act === 'qa' ? c.setGrayVersion('canary') : undefined;
        if (act === 'clear') c.clearGrayVersion();
        await g.withGray()('/api');
        return {
          version: c.getGrayVersion(),
          reason: c.getGrayReason(),
          id,
          ...(kept === undefined ? {} : { kept }),
        };
      },
      [VERSIONS, v.cookie, act] as const,
    );
  }

  /** The other cookies (graylane's names at the other domain), as `name=value`. */
  async function others(v: Variant): Promise<string[]> {
    const all = await context.cookies(origin(v, 'app'));
    return all
      .filter((c) => (c.name === v.name || c.name === v.aidName) && c.domain === v.otherDomain)
      .map((c) => `${c.name}=${c.value}`)
      .sort();
  }

  const lane = (id: string) => (bucket('gray', id) < 5000 ? 'beta' : 'stable');

  const ROWS = VARIANTS.flatMap((v) =>
    VALUES.map(([label, value, aid], i) => ({
      ...v,
      kind: v.immune || i === 0 ? 'control: ' : '',
      label,
      value,
      aid,
      by: v.how[i % v.how.length] as How,
    })),
  );

  it.each(
    titled(ROWS, (r) => `${r.kind}own first — ${r.variant}; the other: ${r.label}, by ${r.by}`),
  )('%s', async (_title, row) => {
    const first = await view(row, 'qa');
    expect(first.kept).toBe(true);
    const own = first.id;
    expect(own).toMatch(/^[0-9a-f]{32}$/);
    const aid = row.aid === 'own' ? own : row.aid;
    await plant(row, row.by, row.value, aid);
    const planted = await others(row);
    expect(planted).toEqual([`${row.name}=${row.value}`, `${row.aidName}=${aid}`].sort());
    for (let i = 0; i < 4; i++)
      expect(await view(row)).toEqual({ version: 'canary', reason: 'cookie', id: '-' });
    // Handed back to the rules: the page's own id, whatever the other one says.
    const cleared = await view(row, 'clear');
    expect([cleared.id, cleared.version]).toEqual([own, lane(own)]);
    expect(markers).toEqual([...Array(5).fill('canary'), lane(own)]);
    // Nothing the page did not write was touched.
    expect(await others(row)).toEqual(planted);
  });

  it.each(
    titled(ROWS, (r) => `${r.kind}other first — ${r.variant}; the other: ${r.label}, by ${r.by}`),
  )('%s', async (_title, row) => {
    const aid = row.aid === 'own' ? OTHER_ID : row.aid;
    await plant(row, row.by, row.value, aid);
    const planted = await others(row);
    expect(planted).toEqual([`${row.name}=${row.value}`, `${row.aidName}=${aid}`].sort());
    const before = [await view(row), await view(row), await view(row)];
    for (const v of before) expect(v.version).toBe(before[0]!.version);
    // The rules' id, when they ran: one and the same.
    expect(new Set(before.map((v) => v.id).filter((id) => id !== '-')).size).toBeLessThan(2);
    const qa = await view(row, 'qa');
    expect(qa.kept).toBe(true);
    for (let i = 0; i < 3; i++)
      expect(await view(row)).toMatchObject({ version: 'canary', reason: 'cookie' });
    expect(markers.slice(-4)).toEqual(Array(4).fill('canary'));
    // Nothing the page did not write was touched.
    expect(await others(row)).toEqual(planted);
  });
});
