import { createServer } from 'node:http';
import { TARGETED_CACHE_CONTROL_FIELDS } from '@graylane/core';
import { signMarker } from '@graylane/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './support/build.js';
import { listenLoopback } from './support/listen.js';
import { startNext } from './support/serve.js';

/*
 * STK-06 (review 57 D1) on the real thing: the test app built with `next build`, served with
 * `next start`. A first visit through `createGrayProxy` gets the sticky cookies (`gray_uid`,
 * `gray`); Next gives a static page `s-maxage=31536000`, an ISR page `s-maxage=60,
 * stale-while-revalidate`, and RSC prefetches the same — a CDN honouring them would store the
 * cookies and hand one visitor's id, so one lane, to everyone. Every response carrying the
 * cookies must be `private, no-store`; a returning visitor (no cookie written) keeps the page's
 * own header, so static pages stay cacheable. Next sets its header only where the response has
 * none, and a route handler's only where absent (send-response), so the proxy's holds.
 *
 * Review 80 D1: a lane rewrite (`/lanes/<kind>` → `/lanes/beta/<kind>` for beta, the
 * `x-test-mode` engines of proxy.template.js) serves one lane's page under a URL every lane asks
 * for, with no cookie written for a returning visitor: that too must be `private, no-store`, for
 * the rewritten lane and for the lane served as requested.
 */

const PRIVATE = 'private, no-store';

/**
 * STK-06: the targeted fields (RFC 9213) the probes set — a CDN reads its own instead of
 * `Cache-Control`, so a first visit must say `no-store` in each; a returning visitor keeps them.
 */
const TARGETED: Readonly<Record<string, string>> = {
  'cdn-cache-control': 'max-age=3600',
  'cloudflare-cdn-cache-control': 'public, s-maxage=600',
  'vercel-cdn-cache-control': 's-maxage=60',
  'netlify-cdn-cache-control': 'public, durable, s-maxage=60',
  'surrogate-control': 'max-age=86400',
  'edge-control': '!no-store, max-age=3600',
};

/** [surface, path, request headers, Cache-Control for a returning visitor]: `TARGETED` set by the app. */
const TARGETED_ROWS: readonly (readonly [string, string, Record<string, string>, RegExp])[] = [
  ['next.config headers() on a static page', '/cache/targeted', {}, /^s-maxage=31536000$/],
  [
    'next.config headers() on an RSC prefetch',
    '/cache/targeted',
    { RSC: '1', 'Next-Router-Prefetch': '1' },
    /^s-maxage=31536000$/,
  ],
  ['a route handler’s own Response', '/cache/targeted-route', {}, /^public, max-age=60$/],
];

/** [surface, path, request headers, the page's own Cache-Control for a returning visitor]. */
const ROWS: readonly (readonly [string, string, Record<string, string>, RegExp])[] = [
  ['a static page', '/cache/static', {}, /^s-maxage=31536000$/],
  ['an ISR page', '/cache/isr', {}, /^s-maxage=60, stale-while-revalidate=\d+$/],
  ['a dynamic page', '/orders', {}, /^private, no-cache, no-store, max-age=0, must-revalidate$/],
  ['a static route handler', '/cache/static-route', {}, /^s-maxage=31536000$/],
  ['an ISR route handler', '/cache/isr-route', {}, /^s-maxage=60, stale-while-revalidate=\d+$/],
  ['a dynamic route handler', '/api/lane', {}, /^$/],
  [
    'a route handler with its own public Cache-Control',
    '/cache/public-route',
    {},
    /^public, max-age=600, s-maxage=600$/,
  ],
  [
    'an RSC prefetch of a static page',
    '/cache/static',
    { RSC: '1', 'Next-Router-Prefetch': '1' },
    /^s-maxage=31536000$/,
  ],
  [
    'an RSC prefetch of an ISR page',
    '/cache/isr',
    { RSC: '1', 'Next-Router-Prefetch': '1' },
    /^s-maxage=60, stale-while-revalidate=\d+$/,
  ],
  [
    'a segment prefetch of an ISR page',
    '/cache/isr',
    { RSC: '1', 'Next-Router-Prefetch': '1', 'Next-Router-Segment-Prefetch': '/_tree' },
    /^s-maxage=60, stale-while-revalidate=\d+$/,
  ],
  ['an RSC navigation to a static page', '/cache/static', { RSC: '1' }, /^s-maxage=31536000$/],
  [
    'a signed-mode proxy, static page',
    '/cache/static',
    { 'x-test-mode': 'signed' },
    /^s-maxage=31536000$/,
  ],
];

interface Seen {
  status: number;
  cc: string | null;
  /** The `TARGETED` fields as received. */
  targeted: Record<string, string | null>;
  ours: number;
  location: string | null;
  /** The sticky cookies as the browser sends them back. */
  jar: string;
}

let app: Awaited<ReturnType<typeof startNext>>;
let service: { origin: string; close(): Promise<void> };
beforeAll(async () => {
  const built = await buildApp('proxy');
  // The downstream `/api/lane` calls.
  service = await listenLoopback(
    createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"marker":null}');
    }),
  );
  app = await startNext(built.dir, {
    GRAY_DOWNSTREAM: service.origin,
    GRAY_OTHER: service.origin,
  });
}, 1_500_000);
afterAll(async () => {
  await app?.stop();
  await service?.close();
});

describe('STK-06 Next: a response with the proxy’s sticky cookies is never stored by a shared cache', () => {
  async function visit(path: string, headers: Record<string, string>): Promise<Seen> {
    const res = await fetch(`${app.origin}${path}`, { headers, redirect: 'manual' });
    await res.arrayBuffer();
    return {
      status: res.status,
      cc: res.headers.get('cache-control'),
      targeted: Object.fromEntries(Object.keys(TARGETED).map((n) => [n, res.headers.get(n)])),
      ours: res.headers.getSetCookie().filter((v) => /^gray(_uid)?=/.test(v)).length,
      location: res.headers.get('location'),
      jar: res.headers
        .getSetCookie()
        .map((v) => v.slice(0, v.indexOf(';')))
        .join('; '),
    };
  }

  /** The response a client ends on: an RSC request is first sent to its `?_rsc=` URL. */
  async function follow(path: string, headers: Record<string, string>): Promise<Seen[]> {
    const first = await visit(path, headers);
    if (first.status !== 307 || first.location === null || !first.location.includes('_rsc'))
      return [first];
    const to = new URL(first.location, app.origin);
    return [first, await visit(to.pathname + to.search, headers)];
  }

  it.each(ROWS)(
    'STK-06 %s: a first visit is private, a returning one keeps the page’s',
    async (_s, path, headers, own) => {
      const firsts = await follow(path, headers);
      const log = () => JSON.stringify(firsts) + app.output().slice(-1500);
      for (const seen of firsts) {
        expect(seen.ours, log()).toBe(2);
        expect(seen.cc, log()).toBe(PRIVATE);
      }
      expect(firsts.at(-1)!.status, log()).toBeLessThan(300);
      // A returning visitor: the cookies of that first visit (a signed token in signed mode).
      const back = await follow(path, { ...headers, cookie: firsts.at(-1)!.jar });
      const last = back.at(-1)!;
      expect(last.ours, log()).toBe(0);
      expect(last.cc ?? '', JSON.stringify(back)).toMatch(own);
    },
  );

  it.each(TARGETED_ROWS)(
    'STK-06 %s: targeted fields say no-store on a first visit, the app’s on a returning one',
    async (_s, path, headers, own) => {
      const noStore = Object.fromEntries(Object.keys(TARGETED).map((n) => [n, 'no-store']));
      const firsts = await follow(path, headers);
      const log = () => JSON.stringify(firsts) + app.output().slice(-1500);
      for (const seen of firsts) {
        expect([seen.ours, seen.cc], log()).toEqual([2, PRIVATE]);
        expect(seen.targeted, log()).toEqual(noStore);
      }
      expect(firsts.at(-1)!.status, log()).toBeLessThan(300);
      const back = await follow(path, { ...headers, cookie: firsts.at(-1)!.jar });
      const last = back.at(-1)!;
      expect([last.ours, last.targeted], JSON.stringify(back)).toEqual([0, TARGETED]);
      expect(last.cc ?? '', JSON.stringify(back)).toMatch(own);
    },
  );

  it('STK-06 a page Next answers 404 with its own private header stays private', async () => {
    const seen = await visit('/cache/missing', {});
    expect([seen.status, seen.ours]).toEqual([404, 2]);
    expect(seen.cc).toMatch(/^private, no-(store|cache)/);
  });
});

/** The signing key of the `signed` engine of proxy.template.js. */
const TEMPLATE_KEY = 'a-test-signing-key-of-32-bytes!!';
const LANE_TRUSTS = ['open', 'signed', 'edge'] as const;
type LaneTrust = (typeof LANE_TRUSTS)[number];
const LANE_MARKERS = ['cookie', 'header', 'query', 'baggage', 'split'] as const;
type LaneMarker = (typeof LANE_MARKERS)[number];
const LANE_VISITS = ['first', 'returning'] as const;
const LANES = ['beta', 'stable'] as const;
/** At most this many fresh visitors to land one in the wanted arm of the 50/50 split (2^-64). */
const MAX_FRESH_VISITORS = 64;

/** [surface, path (`/lanes/beta/<kind>` for beta), request headers, what the page says]. */
const LANE_KINDS: readonly (readonly [string, string, Record<string, string>, string])[] = [
  ['a static page', '/lanes/static', {}, 'static'],
  ['an ISR page', '/lanes/isr', {}, 'isr'],
  ['a dynamic page', '/lanes/dynamic', {}, 'dynamic'],
  ['a route handler with public, s-maxage, immutable', '/lanes/route', {}, 'route'],
];
/** RSC requests of the rewritten pages: Next's own 307 to `?_rsc=`, then the payload. */
const LANE_RSC: readonly (readonly [string, string, Record<string, string>, string])[] = [
  [
    'an RSC prefetch of the static page',
    '/lanes/static',
    { RSC: '1', 'Next-Router-Prefetch': '1' },
    'static',
  ],
  ['an RSC navigation to the ISR page', '/lanes/isr', { RSC: '1' }, 'isr'],
];

interface LaneSeen {
  status: number;
  cc: string | null;
  targeted: Record<string, string | null>;
  setCookies: string[];
  version: string | undefined;
  location: string | null;
  body: string;
}

const LANE_ROWS = [
  ...LANE_KINDS.flatMap(([surface, path, headers, says]) =>
    LANE_TRUSTS.flatMap((trust) =>
      LANE_MARKERS.flatMap((marker) =>
        LANE_VISITS.flatMap((visit) =>
          LANES.map((lane) => ({ surface, path, headers, says, trust, marker, visit, lane })),
        ),
      ),
    ),
  ),
  ...LANE_RSC.flatMap(([surface, path, headers, says]) =>
    LANE_TRUSTS.flatMap((trust) =>
      (['cookie', 'header'] as const).flatMap((marker) =>
        LANES.map((lane) => ({
          surface,
          path,
          headers,
          says,
          trust,
          marker,
          visit: 'returning' as const,
          lane,
        })),
      ),
    ),
  ),
];

describe('STK-06 Next: a page a lane rewrite chose is never stored by a shared cache (review 80 D1)', () => {
  const noStore = Object.fromEntries(TARGETED_CACHE_CONTROL_FIELDS.map((n) => [n, 'no-store']));

  async function hop(path: string, headers: Record<string, string>): Promise<LaneSeen> {
    const res = await fetch(`${app.origin}${path}`, { headers, redirect: 'manual' });
    const version = /^version=([^;]+);/.exec(res.headers.get('x-gray-decision') ?? '')?.[1];
    return {
      status: res.status,
      cc: res.headers.get('cache-control'),
      targeted: Object.fromEntries(
        TARGETED_CACHE_CONTROL_FIELDS.map((n) => [n, res.headers.get(n)]),
      ),
      setCookies: res.headers.getSetCookie(),
      version,
      location: res.headers.get('location'),
      body: await res.text(),
    };
  }

  /** The `Cookie` a browser sends after `cookie` and these `Set-Cookie` values (by name, last wins). */
  function jarAfter(cookie: string | undefined, setCookies: readonly string[]): string {
    const jar = new Map<string, string>();
    const pairs = [
      ...(cookie ?? '').split('; '),
      ...setCookies.map((c) => c.slice(0, c.indexOf(';') >>> 0)),
    ];
    for (const pair of pairs.filter((p) => p.includes('=')))
      jar.set(pair.slice(0, pair.indexOf('=')), pair);
    return [...jar.values()].join('; ');
  }

  /**
   * Every hop a client makes: a 307 here (Next's `?_rsc=`, graylane's `?gray=` removal) is
   * followed with the cookies it set, as a browser does.
   */
  async function hops(path: string, headers: Record<string, string>): Promise<LaneSeen[]> {
    const all = [await hop(path, headers)];
    for (let last = all[0]!; last.status === 307 && last.location !== null && all.length < 4;) {
      const to = new URL(last.location, app.origin);
      if (to.origin !== new URL(app.origin).origin) break;
      const cookie = jarAfter(
        headers['cookie'],
        all.flatMap((h) => h.setCookies),
      );
      last = await hop(to.pathname + to.search, { ...headers, ...(cookie ? { cookie } : {}) });
      all.push(last);
    }
    return all;
  }

  /** The request carrying `lane` on `marker` (a token in signed mode; edge mode ignores it). */
  async function carrier(trust: LaneTrust, marker: LaneMarker, lane: string) {
    const value =
      trust === 'signed' ? await signMarker(lane, { key: TEMPLATE_KEY, kid: 'k1' }) : lane;
    const headers: Record<string, string> = { 'x-test-mode': trust };
    if (marker === 'cookie') headers['cookie'] = `gray=${value}`;
    if (marker === 'header') headers['x-gray-id'] = value;
    if (marker === 'baggage') headers['baggage'] = `k=v,gray=${encodeURIComponent(value)}`;
    return { search: marker === 'query' ? `?gray=${encodeURIComponent(value)}` : '', headers };
  }

  /**
   * A visit of `lane`: the first, or the returning one with the first one's cookies and the
   * marker again. Where the marker does not decide (a split; in edge mode any marker, and a query
   * marker in signed mode, which that engine does not read), fresh visitors come until one lands
   * in `lane` (the lane's own debug header says it).
   */
  async function laneVisit(row: (typeof LANE_ROWS)[number]): Promise<LaneSeen[]> {
    const { search, headers } = await carrier(row.trust, row.marker, row.lane);
    const all = { ...row.headers, ...headers };
    for (let i = 0; i < MAX_FRESH_VISITORS; i++) {
      const first = await hops(row.path + search, all);
      if (first.at(-1)!.version !== row.lane) continue;
      if (row.visit === 'first') return first;
      const cookie = jarAfter(
        all['cookie'],
        first.flatMap((h) => h.setCookies),
      );
      const back = await hops(row.path + search, { ...all, cookie });
      if (back.at(-1)!.version === row.lane) return back;
    }
    throw new Error(`no visitor landed in ${row.lane}: ${app.output().slice(-1500)}`);
  }

  it.each(LANE_ROWS)(
    'STK-06 $surface: $trust mode, $marker marker, $visit visit, $lane lane',
    async (row) => {
      const seen = await laneVisit(row);
      const last = seen.at(-1)!;
      const log = () =>
        JSON.stringify(seen.map((h) => ({ ...h, body: h.body.length }))) +
        app.output().slice(-1500);
      expect(last.status, log()).toBe(200);
      // The lane's own page: beta's through the rewrite, stable's as requested.
      if (row.headers['RSC'] === undefined)
        expect(last.body, log()).toContain(`${row.lane} ${row.says}`);
      if (row.visit === 'returning' && row.marker === 'cookie' && row.trust !== 'edge')
        expect(last.setCookies, 'no cookie written: a shared cache would store it').toEqual([]);
      for (const h of seen.filter((h) => h.status === 200 || h.location?.includes('_rsc')))
        expect([h.cc, h.targeted], log()).toEqual([PRIVATE, noStore]);
    },
  );

  it.each(
    LANE_TRUSTS.flatMap((trust) =>
      (
        [
          ['/cache/static', /^s-maxage=31536000$/],
          ['/cache/isr', /^s-maxage=60, stale-while-revalidate=\d+$/],
        ] as const
      ).map(([path, own]) => ({ trust, path, own })),
    ),
  )(
    'STK-06 (control) $trust mode, $path, returning: a URL the rewrite never sends elsewhere keeps the page’s own caching',
    async ({ trust, path, own }) => {
      const first = await hops(path, { 'x-test-mode': trust });
      const jar = jarAfter(
        undefined,
        first.flatMap((h) => h.setCookies),
      );
      expect(jar).toMatch(/gray_uid=/);
      const back = await hops(path, { 'x-test-mode': trust, cookie: jar });
      const last = back.at(-1)!;
      expect([last.status, last.setCookies], JSON.stringify(back)).toEqual([200, []]);
      expect(last.cc ?? '', JSON.stringify(back)).toMatch(own);
    },
  );
});
