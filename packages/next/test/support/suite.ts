import { decide, parseConfig } from '@graylane/core';
import { signMarker } from '@graylane/web';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from '../../../../tools/chromium.js';
import { grayConfig } from '../app/lib/gray.js';
import { buildApp, type Variant } from './build.js';
import { describeCookieJar } from './cookies.js';
import { startDownstream } from './downstream.js';
import { describeHandOff } from './handoff.js';
import { describeResponseHeaderLeaks } from './leaks.js';
import { startNext } from './serve.js';

interface LaneReport {
  version: string | null;
  servedBy: string;
  downstream: { marker?: string; baggage?: string; lane?: string };
}

interface Rendered {
  server: string;
  reason: string;
  servedBy: string;
  client: string;
  meta: string;
  api: LaneReport;
}

/** Two anonymous ids core's own evaluation puts in the beta and the stable arm of `ramp`. */
function seededIds(): { beta: string; stable: string } {
  const config = parseConfig(grayConfig);
  const found: Record<string, string> = {};
  for (let i = 0; !(found['beta'] && found['stable']); i++) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    found[decide(config, { cookies: { gray_uid: id } }).version] ??= id;
  }
  return { beta: found['beta'] as string, stable: found['stable'] as string };
}

/** The shared decision key the edge-runtime middleware variant runs with (GRAYLANE_DECISION_KEY). */
const SHARED_KEY = 'next-test-shared-decision-key-32b';

const FORGED_TEXT = 'version=canary; reason=header; source=header';

/** Decision headers a client can send; none may ever set the lane. */
const FORGED: readonly (readonly [string, () => Promise<string>])[] = [
  ['the debug format', () => Promise.resolve(FORGED_TEXT)],
  [
    'a made-up seal',
    () => Promise.resolve(`${FORGED_TEXT}; seal=canary.9999999999.realm.${'A'.repeat(43)}`),
  ],
  [
    'a well-formed seal under a guessed key',
    async () =>
      `${FORGED_TEXT}; seal=${await signMarker('canary', { key: 'a-guessed-key-of-32-characters!!', kid: 'env', subject: FORGED_TEXT })}`,
  ],
  [
    'a seal for another decision',
    async () =>
      `${FORGED_TEXT}; seal=${await signMarker('canary', { key: SHARED_KEY, kid: 'env', subject: 'version=canary; reason=rule; source=rules' })}`,
  ],
  [
    'an expired seal under the shared key',
    async () =>
      `${FORGED_TEXT}; seal=${await signMarker('canary', { key: SHARED_KEY, kid: 'env', subject: FORGED_TEXT, ttlSeconds: 300, now: () => Date.now() - 301_000 })}`,
  ],
];

/** Where a forged header is sent: what the request is, and how the lane it got is read back. */
const PROBES = [
  ['the document, in the matcher', '/', {}, true],
  ['an RSC request, in the matcher', '/', { RSC: '1' }, true],
  ['a route handler, in the matcher', '/api/lane', {}, true],
  ['a route handler outside the matcher', '/outside/lane', {}, false],
  ['a document outside the matcher', '/outside', {}, false],
  ['an RSC request outside the matcher', '/outside', { RSC: '1' }, false],
] as const;

/** The lane a probe response reports (HTML, RSC payload or JSON). */
function laneOf(body: string): string | null {
  const json = /^\{/.test(body) ? (JSON.parse(body) as { version: string | null }) : undefined;
  if (json) return json.version;
  const m =
    /id="server-version">([a-z]+)</.exec(body) ??
    /"id":"server-version","children":"([a-z]+)"/.exec(body);
  if (!m) throw new Error(`no server-version in ${body.slice(0, 300)}`);
  return m[1] === 'none' ? null : (m[1] as string);
}

/**
 * The Next.js app built with `next build`, served with `next start`, driven by Chromium:
 * `variant` picks Next 16's `proxy.js` (Node runtime) or `middleware.js` (edge runtime).
 */
export function describeNextApp(variant: Variant, runtime: 'nodejs' | 'edge'): void {
  const skip = chromiumMissing(`[graylane] Next.js ${variant} tests skipped`);
  if (skip !== undefined) console.warn(skip);
  describe.skipIf(skip !== undefined)(`Next.js ${variant}.js (${runtime} runtime)`, () => {
    let browser: Browser;
    let down: Awaited<ReturnType<typeof startDownstream>>;
    let other: Awaited<ReturnType<typeof startDownstream>>;
    let app: Awaited<ReturnType<typeof startNext>>;
    // Edge-runtime middleware shares no realm with the app: it needs the shared key.
    const keyEnv: Record<string, string> =
      runtime === 'edge' ? { GRAYLANE_DECISION_KEY: SHARED_KEY } : {};
    const errors: string[] = [];

    beforeAll(async () => {
      const built = await buildApp(variant);
      console.info(
        `[graylane] next build (${variant}): ${built.cached ? 'cached' : `${built.ms} ms`}`,
      );
      down = await startDownstream();
      other = await startDownstream();
      app = await startNext(built.dir, {
        GRAY_DOWNSTREAM: down.origin,
        GRAY_OTHER: other.origin,
        ...keyEnv,
      });
      browser = await launchChromium();
    }, 1_500_000);
    afterAll(async () => {
      await browser?.close();
      await app?.stop();
      await down?.close();
      await other?.close();
    });

    const open = async (
      context: BrowserContext,
      path = '/',
    ): Promise<{ page: Page; rendered: Rendered; headers: Record<string, string> }> => {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      const res = await page.goto(`${app.origin}${path}`);
      expect(res?.status(), app.output().slice(-2000)).toBe(200);
      await page.waitForFunction(
        () => (document.querySelector('#api')?.textContent ?? '') !== '',
        null,
        {
          timeout: 20_000,
        },
      );
      const text = async (sel: string): Promise<string> => (await page.textContent(sel)) ?? '';
      const rendered: Rendered = {
        server: await text('#server-version'),
        reason: await text('#server-reason'),
        servedBy: await text('#served-by'),
        client: await text('#client-version'),
        meta: await text('#meta-version'),
        api: JSON.parse(await text('#api')) as LaneReport,
      };
      return { page, rendered, headers: res?.headers() ?? {} };
    };

    /** Every layer agrees: server render, meta hand-off, client SDK, route handler, downstream. */
    const expectOneLane = (r: Rendered, version: string): void => {
      expect(r).toMatchObject({ server: version, client: version, meta: version });
      expect(r.api).toMatchObject({ version, downstream: { marker: version, lane: version } });
      expect(r.api.downstream.baggage).toContain(`gray=${version}`);
    };

    it(`the ${variant} runs on the ${runtime} runtime`, async () => {
      const res = await fetch(`${app.origin}/`);
      await res.body?.cancel();
      expect(res.headers.get('x-proxy-runtime')).toBe(runtime);
    });

    // Review 107 D1: the page builds at all (getGrayVersion() swallowed Next's dynamic-rendering
    // signal while prerendering and failed `next build` with NO_CONTEXT), and is rendered per
    // request, each on its own lane.
    it('a server component reading only getGrayVersion() builds as a dynamic page and reads each request’s lane', async () => {
      for (const version of ['beta', 'stable', 'canary', 'beta']) {
        const res = await fetch(`${app.origin}/strict`, { headers: { 'x-gray-id': version } });
        const html = await res.text();
        expect(res.status, app.output().slice(-2000)).toBe(200);
        expect(/<p id="strict-version">([^<]*)<\/p>/.exec(html)?.[1]).toBe(version);
      }
    });

    // Review 138 D1: the lane read outside unstable_cache and passed in (docs/nextjs.md, "Caches
    // and after()"): one cache entry per lane, never a lane frozen for everyone.
    it('CTX-12 unstable_cache keyed by the lane passed in: each lane gets its own entry', async () => {
      for (const version of ['beta', 'stable', 'canary', 'beta', 'stable']) {
        const res = await fetch(`${app.origin}/orders`, { headers: { 'x-gray-id': version } });
        const html = await res.text();
        expect(res.status, app.output().slice(-2000)).toBe(200);
        const shown = /<pre>([^<]*)<\/pre>/.exec(html)?.[1]?.replaceAll('&quot;', '"');
        expect(JSON.parse(shown ?? 'null')).toEqual({ version, orders: [] });
      }
    });

    it('STK-02 first visit: a fresh browser is split, gets sticky cookies, every layer on one lane', async () => {
      const context = await browser.newContext();
      const { rendered, headers } = await open(context);
      expect(rendered.reason).toBe('weight');
      expect(['stable', 'beta']).toContain(rendered.server);
      expectOneLane(rendered, rendered.server);
      expect(headers['x-gray-decision']).toMatch(
        new RegExp(`^version=${rendered.server}; reason=weight`),
      );
      const cookies = await context.cookies(app.origin);
      expect(cookies.find((c) => c.name === 'gray')).toMatchObject({
        value: rendered.server,
        httpOnly: true,
      });
      expect(cookies.find((c) => c.name === 'gray_uid')?.value).toMatch(/^[0-9a-f-]{36}$/);

      // Second visit: the sticky cookie decides, nothing new is set.
      const again = await open(context);
      expect(again.rendered.reason).toBe('cookie');
      expectOneLane(again.rendered, rendered.server);
      expect(again.headers['set-cookie']).toBeUndefined();
      await context.close();
    });

    describeCookieJar(() => ({ origin: app.origin, down, other }));

    describeHandOff(() => ({ origin: app.origin, browser }));

    describeResponseHeaderLeaks(() => ({ origin: app.origin, down, other }));

    it('WT-02 the split serves both arms: seeded anonymous ids land where core decides', async () => {
      const ids = seededIds();
      for (const [version, id] of Object.entries(ids)) {
        const context = await browser.newContext();
        await context.addCookies([{ name: 'gray_uid', value: id, url: app.origin }]);
        const { rendered } = await open(context);
        expect(rendered.reason).toBe('weight');
        expectOneLane(rendered, version);
        await context.close();
      }
    });

    it.each([
      ['HDR-03 header', { headers: { 'x-gray-id': 'beta' } }, '/', 'beta', 'header'],
      ['CK-01 cookie', { cookie: 'canary' }, '/', 'canary', 'cookie'],
      ['QS-02 query', {}, '/?gray=beta', 'beta', 'query'],
      [
        'PREC-01 header over cookie',
        { headers: { 'x-gray-id': 'canary' }, cookie: 'beta' },
        '/',
        'canary',
        'header',
      ],
      // On the document request only: the page's own calls then carry the page's version (a
      // query marker is for this page view, never stored, STK-02).
      [
        'PREC-02 invalid header falls to the query',
        { navigationHeaders: { 'x-gray-id': 'BETA' } },
        '/?gray=canary',
        'canary',
        'query',
      ],
    ] as const)(
      '%s marker decides the lane of every layer',
      async (_id, setup, path, version, reason) => {
        const context = await browser.newContext(
          'headers' in setup ? { extraHTTPHeaders: { ...setup.headers } } : {},
        );
        if ('navigationHeaders' in setup)
          await context.route('**/*', (route, request) =>
            route.continue(
              request.isNavigationRequest()
                ? { headers: { ...request.headers(), ...setup.navigationHeaders } }
                : {},
            ),
          );
        if ('cookie' in setup)
          await context.addCookies([{ name: 'gray', value: setup.cookie, url: app.origin }]);
        const { rendered } = await open(context, path);
        expect(rendered.reason).toBe(reason);
        expectOneLane(rendered, version);
        await context.close();
      },
    );

    it('lane fallback: canary has no implementation here, stable serves it, canary travels on', async () => {
      const context = await browser.newContext({ extraHTTPHeaders: { 'x-gray-id': 'canary' } });
      const { rendered } = await open(context);
      expect(rendered.servedBy).toBe('stable');
      expect(rendered.api.servedBy).toBe('stable');
      expectOneLane(rendered, 'canary');
      await context.close();
    });

    it('GW-01 a server action sees the lane the proxy decided, not a forged decision header', async () => {
      const context = await browser.newContext({
        extraHTTPHeaders: { 'x-gray-id': 'beta', 'x-graylane-decision': FORGED_TEXT },
      });
      const { page } = await open(context);
      await page.click('#act');
      await page.waitForFunction(
        () => document.querySelector('#action-version')?.textContent === 'beta',
        null,
        {
          timeout: 15_000,
        },
      );
      await context.close();
    });

    it.each(
      FORGED.flatMap(([forgery, make]) =>
        PROBES.map(([probe, path, headers, inMatcher]) => ({
          forgery,
          make,
          probe,
          path,
          headers,
          inMatcher,
        })),
      ),
    )(
      'GW-01 $forgery on $probe never sets the lane',
      async ({ make, path, headers, inMatcher }) => {
        const res = await fetch(`${app.origin}${path}`, {
          headers: { ...headers, 'x-gray-id': 'beta', 'x-graylane-decision': await make() },
        });
        expect(res.status).toBe(200);
        // In the matcher the proxy's own decision (the beta marker) stands; outside it, none.
        expect(laneOf(await res.text())).toBe(inMatcher ? 'beta' : null);
      },
    );

    if (runtime === 'edge') {
      it('GW-01 control: a fresh seal under the shared key does verify outside the matcher', async () => {
        const seal = await signMarker('canary', {
          key: SHARED_KEY,
          kid: 'env',
          subject: FORGED_TEXT,
          ttlSeconds: 300,
        });
        const res = await fetch(`${app.origin}/outside/lane`, {
          headers: { 'x-graylane-decision': `${FORGED_TEXT}; seal=${seal}` },
        });
        expect(laneOf(await res.text())).toBe('canary');
      });

      it('GW-01 without GRAYLANE_DECISION_KEY the app refuses what edge middleware sealed, and says why once', async () => {
        const built = await buildApp(variant);
        const bare = await startNext(built.dir, {
          GRAY_DOWNSTREAM: down.origin,
          GRAY_OTHER: other.origin,
        });
        try {
          for (let i = 0; i < 3; i++) {
            const res = await fetch(`${bare.origin}/api/lane`, {
              headers: { 'x-gray-id': 'beta' },
            });
            expect(((await res.json()) as LaneReport).version).toBeNull();
          }
          const warnings = bare.output().match(/did not verify/g) ?? [];
          expect(warnings.length).toBe(1);
          expect(bare.output()).toContain('GRAYLANE_DECISION_KEY');
        } finally {
          await bare.stop();
        }
      }, 120_000);
    }

    it('GW-01 no response carries the sealed decision or Next internal request headers back', async () => {
      for (const path of ['/', '/api/lane', '/edge/lane', '/ext/allowed/echo']) {
        const res = await fetch(`${app.origin}${path}`, { headers: { 'x-gray-id': 'beta' } });
        await res.body?.cancel();
        res.headers.forEach((value, name) => {
          expect(name, path).not.toMatch(/^x-middleware-(request-|override-headers)/);
          expect(value, `${path} ${name}`).not.toContain('seal=');
        });
      }
    });

    it.each([
      ['an allowlisted origin', 'allowed', 'beta'],
      ['another origin', 'other', undefined],
    ] as const)(
      'I8 a proxy rewrite to %s gets the marker only if allowlisted, never the decision',
      async (_label, where, marker) => {
        const target = where === 'allowed' ? down : other;
        const before = target.seen.length;
        const res = await fetch(`${app.origin}/ext/${where}/echo`, {
          headers: { 'x-gray-id': 'beta', baggage: 'a=1', 'x-graylane-decision': FORGED_TEXT },
        });
        expect(res.status, app.output().slice(-2000)).toBe(200);
        const seen = target.seen.slice(before);
        expect(seen).toHaveLength(1);
        expect(seen[0]).toMatchObject({ path: '/echo', marker, decision: undefined });
        expect(seen[0]?.baggage ?? '').toContain('a=1');
        expect(/(^|,)\s*gray=/.test(seen[0]?.baggage ?? '')).toBe(marker !== undefined);
      },
    );

    it('GW-02 edge mode: the app sees none of the client carriers, not even ?gray=', async () => {
      const res = await fetch(`${app.origin}/edge/lane?gray=beta&x=1`, {
        headers: { 'x-gray-id': 'beta', cookie: 'a=1; gray=beta', baggage: 'a=1,gray=beta' },
      });
      const seen = (await res.json()) as Record<string, string | null>;
      const version = seen['version'];
      expect(['stable', 'beta']).toContain(version);
      expect(seen).toMatchObject({ marker: version, cookie: 'a=1', search: '?x=1' });
      expect(seen['baggage']).toBe(`gray=${version},a=1`);
    });

    it('I7 concurrent requests with different markers each get their own lane, downstream too', async () => {
      const versions = ['stable', 'beta', 'canary'];
      const results = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const want = versions[i % 3] as string;
          const res = await fetch(`${app.origin}/api/lane`, { headers: { 'x-gray-id': want } });
          const body = (await res.json()) as LaneReport;
          return [want, body.version, body.downstream.marker, body.downstream.lane];
        }),
      );
      for (const [want, ...got] of results) expect(got).toEqual([want, want, want]);
    });

    it('no flash: the first paint already shows the server lane and hydration reports no mismatch', async () => {
      const context = await browser.newContext({ extraHTTPHeaders: { 'x-gray-id': 'beta' } });
      const page = await context.newPage();
      // The HTML as delivered, before any script ran.
      const html = await (await page.request.get(`${app.origin}/`)).text();
      expect(html).toContain('<meta name="graylane-version" content="beta"/>');
      expect(html).toMatch(/id="client-version">beta</);
      await context.close();
      expect(errors.filter((e) => /hydrat/i.test(e))).toEqual([]);
    });
  });
}
