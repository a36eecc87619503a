import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, launch, PAGE } from './harness.js';

// STK-04 in real Chromium: a cookie jar past the server's limits (> 16 KiB, > 180 pairs, which
// makes Chromium evict), or cookies of graylane's names set on other paths (`/app`, `/app/`):
// the anonymous id, the split assignment and a QA choice survive reloads, and the server sees one
// value of each again. The page server accepts 1 MiB of headers so that it can observe the jar.

const run = chromiumAvailable();
const VERSIONS = ['stable', 'beta', 'canary'];

interface Visit {
  readonly version: string;
  readonly reason: string;
  readonly aid: string | undefined;
}

/** How the jar is abused between two page views (runs in the page). */
type Abuse = (page: Page, origin: string) => Promise<void>;

const bloat =
  (count: number, bytes: number, from = 0): Abuse =>
  async (page) =>
    page.evaluate(
      ([n, size, start]) => {
        for (let i = start; i < start + n; i++)
          document.cookie = `bloat${i}=${'v'.repeat(size)}; path=/; max-age=600`;
      },
      [count, bytes, from] as const,
    );

const otherPaths =
  (version: string, paths: readonly string[]): Abuse =>
  async (page) =>
    page.evaluate(
      ([v, ps]) => {
        for (const p of ps) {
          document.cookie = `gray=${v}; path=${p}; max-age=600`;
          document.cookie = `gray_aid=${'f'.repeat(32)}; path=${p}; max-age=600`;
        }
      },
      [version, paths] as const,
    );

const serverSetsOtherPath: Abuse = async (page, origin) => {
  // A server (an older app on /app) answers with its own cookies of graylane's names.
  await page.goto(`${origin}/app/legacy-set-cookie`);
};

const both =
  (...abuses: Abuse[]): Abuse =>
  async (page, origin) => {
    for (const abuse of abuses) await abuse(page, origin);
  };

const abuses: ReadonlyArray<readonly [string, Abuse]> = [
  ['> 16 KiB: 150 cookies of 120 bytes', bloat(150, 120)],
  ['> 180 pairs: 220 cookies (Chromium evicts down to 150)', bloat(220, 20)],
  ['4 cookies of 4 KiB', bloat(4, 4000)],
  ['same names on /app', otherPaths('stable', ['/app'])],
  ['same names on /app/ and /app/page', otherPaths('stable', ['/app/', '/app/page'])],
  ['same names on /app, set by a server', serverSetsOtherPath],
  ['same names on /app and 220 cookies', both(otherPaths('stable', ['/app']), bloat(220, 20))],
];

// A lone cookie of our name cannot be told from ours (document.cookie hides paths), so this one
// only makes sense for a visitor whose value it repeats: the QA rows.
const qaAbuses = [
  ...abuses,
  ['the QA value on another path', otherPaths('canary', ['/app'])],
] as const;

describe.skipIf(!run)('Chromium: STK-04 assignments survive an abused cookie jar', () => {
  let browser: Browser;
  let sdk: string;
  let server: Server;
  let origin: string;
  const cookieHeaders: Array<{ path: string; cookie: string }> = [];
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    [browser, sdk] = await Promise.all([launch(), bundleSdk()]);
    server = createServer({ maxHeaderSize: 1 << 20 }, (req, res) => {
      cookieHeaders.push({ path: req.url ?? '', cookie: req.headers.cookie ?? '' });
      if (req.url === '/sdk.js')
        return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
      if (req.url === '/app/legacy-set-cookie')
        return void res
          .writeHead(200, {
            'content-type': 'text/html',
            'set-cookie': [
              'gray=stable; Path=/app; Max-Age=600',
              `gray_aid=${'e'.repeat(32)}; Path=/app; Max-Age=600`,
            ],
          })
          .end(PAGE);
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext();
    page = await context.newPage();
    cookieHeaders.length = 0;
  });

  /** One page view of /app/page: initGray with a 50/50 split; returns what it assigned. */
  async function visit(extra: Record<string, unknown> = {}, path = '/app/page'): Promise<Visit> {
    await page.goto(`${origin}${path}`);
    return page.evaluate(
      ([versions, more]) => {
        const g = globalThis.graylane;
        const c = g.initGray({
          versions,
          default: 'stable',
          rules: g.split({ beta: 50 }),
          ...more,
        });
        return {
          version: c.getGrayVersion(),
          reason: c.getGrayReason(),
          aid: /(?:^|; )gray_aid=([0-9a-f]{32})/.exec(document.cookie)?.[1],
        };
      },
      [VERSIONS, extra] as const,
    );
  }

  /**
   * The distinct values of `name` the server saw on the last request for /app/after (a page on
   * the path where the other-path cookies apply). Equal duplicates are not a conflict (CK-02).
   */
  const serverSaw = (name: string): string[] => {
    const last = cookieHeaders.filter((h) => h.path === '/app/after').at(-1)?.cookie ?? '';
    const values = last
      .split('; ')
      .filter((p) => p.startsWith(`${name}=`))
      .map((p) => p.slice(name.length + 1));
    return [...new Set(values)];
  };

  it.each(abuses)('STK-04 split assignment and anonymous id survive: %s', async (_id, abuse) => {
    const first = await visit();
    expect(first.reason).toBe('weight');
    expect(first.aid).toMatch(/^[0-9a-f]{32}$/);
    await abuse(page, origin);
    for (let i = 0; i < 2; i++) {
      const again = await visit();
      expect(again.aid).toBe(first.aid);
      expect(again.version).toBe(first.version);
      // A beta visitor is stored (cookie); a stable one re-evaluates to the same bucket (weight),
      // unless a lone `gray=stable` from another path now reads as its cookie (same version).
      expect(first.version === 'beta' ? ['cookie'] : ['weight', 'cookie']).toContain(again.reason);
    }
    // The next request carries one value of each name (the server would see no conflict).
    await page.goto(`${origin}/app/next`);
    await page.goto(`${origin}/app/after`);
    expect(serverSaw('gray_aid')).toEqual([first.aid]);
    const gray = serverSaw('gray');
    expect(gray.length).toBeLessThanOrEqual(1);
    expect(gray.every((v) => v === first.version)).toBe(true);
    if (first.version === 'beta') expect(gray).toEqual(['beta']);
  });

  it.each(qaAbuses)('STK-04 a QA choice survives: %s', async (_id, abuse) => {
    await visit();
    await page.evaluate(() => {
      const g = globalThis.graylane;
      const c = g.initGray({ versions: ['stable', 'beta', 'canary'], default: 'stable' });
      if (!c.setGrayVersion('canary')) throw new Error('setGrayVersion failed');
    });
    await abuse(page, origin);
    for (let i = 0; i < 2; i++)
      expect(await visit()).toMatchObject({ version: 'canary', reason: 'cookie' });
    await page.goto(`${origin}/app/next`);
    await page.goto(`${origin}/app/after`);
    expect(serverSaw('gray')).toEqual(['canary']);
  });

  it.each(qaAbuses.filter((_, i) => i % 2 === 1))(
    'STK-04 a persisted query override survives: %s',
    async (_id, abuse) => {
      await visit({ override: true, persistOverride: true }, '/app/page?gray=canary');
      await abuse(page, origin);
      expect(await visit()).toMatchObject({ version: 'canary', reason: 'cookie' });
    },
  );

  it('STK-04 without Priority=High Chromium would evict the assignment (the control)', async () => {
    await page.goto(`${origin}/app/page`);
    const survived = await page.evaluate(() => {
      document.cookie = 'control=beta; path=/; max-age=600';
      for (let i = 0; i < 220; i++) document.cookie = `bloat${i}=v; path=/; max-age=600`;
      return /(?:^|; )control=/.test(document.cookie);
    });
    expect(survived).toBe(false);
  });
});
