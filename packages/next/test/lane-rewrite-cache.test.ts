import { TARGETED_CACHE_CONTROL_FIELDS } from '@graylane/core';
import { createGrayProxy, type GrayProxyOptions } from '@graylane/next';
import { signMarker } from '@graylane/web';
import { NextRequest, type NextResponse } from 'next/server';
import { describe, expect, it } from 'vitest';

/*
 * STK-06 (review 80 D1): a `rewrite` that sends a lane to its own route (docs/nextjs.md §2,
 * `/checkout` → `/beta/checkout` for beta) serves one lane's page under a URL every lane asks
 * for. Nothing in that URL names the lane — a returning visitor's cookie, a header or baggage
 * marker, a split bucket — so a shared cache keyed on it would hand that lane's page to every
 * visitor. Such a response must say `Cache-Control: private, no-store` and `no-store` in every
 * targeted field (RFC 9213), whatever carried the marker, in every trust mode, on a first visit
 * (where the sticky cookies already ask for it) and a returning one (no `Set-Cookie`: before the
 * fix, nothing did), for the lane rewritten and for the lanes served as requested (their page
 * under that URL is lane-specific too). A URL the rewrite sends nowhere, for any version, keeps
 * the page's own caching. Against Next's own `NextRequest`/`NextResponse`; next-cache.test.ts
 * proves the same on a built app.
 */

const ORIGIN = 'http://app.test';
const KEY = 'a-signing-key-of-32-characters!!';
const PRIVATE = 'private, no-store';
const NO_STORE = Object.fromEntries(TARGETED_CACHE_CONTROL_FIELDS.map((n) => [n, 'no-store']));
/** The response a page keeps: no field of graylane's. */
const UNTOUCHED = Object.fromEntries(TARGETED_CACHE_CONTROL_FIELDS.map((n) => [n, null]));
const ALLOWED = 'http://orders.internal:8080';

/** Three versions, a 50/50 split of beta and stable by the anonymous id: canary only by marker. */
const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    {
      id: 'half',
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'cookie:gray_uid',
    },
  ],
};

type Rewrite = NonNullable<GrayProxyOptions['rewrite']>;
const at = (r: NextRequest, path: string): boolean => r.nextUrl.pathname === path;

/** [shape, rewrite, the target of `/checkout` for beta and for stable (path or URL, or none)]. */
const SHAPES: readonly (readonly [string, Rewrite, string | undefined, string | undefined])[] = [
  [
    'beta to its own route (docs §2)',
    (r, o) => (at(r, '/checkout') && o.decision.version === 'beta' ? '/beta/checkout' : undefined),
    '/beta/checkout',
    undefined,
  ],
  [
    'stable to its own route',
    (r, o) =>
      at(r, '/checkout') && o.decision.version === 'stable' ? '/stable/checkout' : undefined,
    undefined,
    '/stable/checkout',
  ],
  [
    'beta by outcome.lane',
    (r, o) => (at(r, '/checkout') && o.lane.decision.version === 'beta' ? '/b' : undefined),
    '/b',
    undefined,
  ],
  [
    'beta as a URL object',
    (r, o) =>
      at(r, '/checkout') && o.decision.version === 'beta'
        ? new URL('/beta/checkout', r.nextUrl)
        : undefined,
    '/beta/checkout',
    undefined,
  ],
  [
    'every lane to one route (private all the same: its content may read the lane)',
    (r) => (at(r, '/checkout') ? '/checkout-v2' : undefined),
    '/checkout-v2',
    '/checkout-v2',
  ],
  [
    'beta to an allowlisted origin',
    (r, o) =>
      at(r, '/checkout') && o.decision.version === 'beta' ? `${ALLOWED}/checkout` : undefined,
    `${ALLOWED}/checkout`,
    undefined,
  ],
  [
    'beta to an origin off the allowlist',
    (r, o) =>
      at(r, '/checkout') && o.decision.version === 'beta'
        ? 'https://third-party.example/checkout'
        : undefined,
    'https://third-party.example/checkout',
    undefined,
  ],
  [
    'beta to its route, throwing for every other lane',
    (r, o) => {
      if (o.decision.version !== 'beta') throw new Error('no route');
      return at(r, '/checkout') ? '/beta/checkout' : undefined;
    },
    '/beta/checkout',
    undefined,
  ],
];

const TRUSTS = ['open', 'signed', 'edge'] as const;
type Trust = (typeof TRUSTS)[number];
const MARKERS = ['cookie', 'header', 'query', 'baggage', 'split'] as const;
type Marker = (typeof MARKERS)[number];
const VISITS = ['first', 'returning'] as const;
const LANES = ['beta', 'stable'] as const;

function proxyFor(trust: Trust, rewrite: Rewrite) {
  return createGrayProxy({
    config,
    sticky: true,
    debugHeader: true,
    allowHosts: [new URL(ALLOWED).host],
    rewrite,
    ...(trust === 'signed'
      ? { trust, keys: { k1: KEY }, signingKid: 'k1', markers: { query: 'gray' } }
      : { trust }),
  });
}

/** The request carrying `lane` on `marker` (a signed token in signed mode; edge mode ignores it). */
async function carrier(trust: Trust, marker: Marker, lane: string) {
  const value = trust === 'signed' ? await signMarker(lane, { key: KEY, kid: 'k1' }) : lane;
  const search = marker === 'query' ? `?gray=${encodeURIComponent(value)}` : '';
  const headers: Record<string, string> = {};
  if (marker === 'cookie') headers['cookie'] = `gray=${value}`;
  if (marker === 'header') headers['x-gray-id'] = value;
  if (marker === 'baggage') headers['baggage'] = `k=v,gray=${encodeURIComponent(value)}`;
  return { search, headers };
}

interface Seen {
  cc: string | null;
  targeted: Record<string, string | null>;
  setCookies: string[];
  /** Where Next goes next: the rewrite target, or null (served as requested). */
  rewrite: string | null;
  /** The decided version, from the debug header (absent on a rewrite off the allowlist). */
  version: string | undefined;
}

function seen(res: NextResponse): Seen {
  const version = /^version=([^;]+);/.exec(res.headers.get('x-gray-decision') ?? '')?.[1];
  return {
    cc: res.headers.get('cache-control'),
    targeted: Object.fromEntries(TARGETED_CACHE_CONTROL_FIELDS.map((n) => [n, res.headers.get(n)])),
    setCookies: res.headers.getSetCookie(),
    rewrite: res.headers.get('x-middleware-rewrite'),
    version,
  };
}

/** One request as a client makes it: a 307 (a query marker the decision removes) is followed. */
async function request(
  proxy: ReturnType<typeof proxyFor>,
  path: string,
  search: string,
  headers: Record<string, string>,
): Promise<NextResponse> {
  let res = await proxy(new NextRequest(`${ORIGIN}${path}${search}`, { headers }));
  const location = res.headers.get('location');
  if (res.status === 307 && location !== null)
    res = await proxy(new NextRequest(new URL(location, ORIGIN), { headers }));
  return res;
}

/** The cookie pairs of `Set-Cookie`, as the browser sends them back. */
const jarOf = (setCookies: readonly string[]): string =>
  setCookies.map((c) => c.slice(0, c.indexOf(';') >>> 0)).join('; ');

/** At most this many fresh visitors to land one in the wanted arm of the 50/50 split (2^-64). */
const MAX_FRESH_VISITORS = 64;

/**
 * A visit of `lane` through `marker`: the first (no cookie but the marker's own), or the
 * returning one that sends the first one's cookies back with the marker. Where the marker does
 * not decide (a split, or any marker in edge mode), fresh visitors come until one lands in `lane`
 * (on both visits, for a returning one).
 */
async function visitOn(
  trust: Trust,
  rewrite: Rewrite,
  marker: Marker,
  visit: (typeof VISITS)[number],
  lane: string,
  path: string,
  versionOf: (s: Seen) => string | undefined,
): Promise<Seen> {
  const proxy = proxyFor(trust, rewrite);
  const { search, headers } = await carrier(trust, marker, lane);
  for (let i = 0; i < MAX_FRESH_VISITORS; i++) {
    const first = seen(await request(proxy, path, search, headers));
    if (versionOf(first) !== lane) continue;
    if (visit === 'first') return first;
    // A response off the allowlist writes no cookie: that visitor is split afresh (docs).
    const cookie = [headers['cookie'], jarOf(first.setCookies)].filter(Boolean).join('; ');
    const back = seen(await request(proxy, path, search, { ...headers, cookie }));
    if (versionOf(back) === lane) return back;
  }
  throw new Error(`no visitor landed in ${lane}`);
}

const ROWS = TRUSTS.flatMap((trust) =>
  MARKERS.flatMap((marker) =>
    VISITS.flatMap((visit) => LANES.map((lane) => ({ trust, marker, visit, lane }))),
  ),
);

describe('STK-06 a URL the `rewrite` option sends elsewhere for some lane is never shared-cacheable', () => {
  for (const [shape, rewrite, beta, stable] of SHAPES) {
    /** The version of a response: its debug header, or (off the allowlist, no header) its target. */
    const versionOf = (s: Seen): string | undefined =>
      s.version ?? (s.rewrite !== null && beta?.startsWith('https:') ? 'beta' : undefined);
    it.each(ROWS)(
      `${shape}: $trust mode, $marker marker, $visit visit, $lane lane`,
      async ({ trust, marker, visit, lane }) => {
        const got = await visitOn(trust, rewrite, marker, visit, lane, '/checkout', versionOf);
        const want = lane === 'beta' ? beta : stable;
        // The lane is served where the rewrite sends it (the probe of other lanes changes nothing;
        // a signed token in the query is rewritten in-process to the label, same path).
        const to = got.rewrite === null ? new URL('/checkout', ORIGIN) : new URL(got.rewrite);
        expect(`${to.origin}${to.pathname}`).toBe(new URL(want ?? '/checkout', ORIGIN).href);
        if (visit === 'returning' && marker !== 'query' && trust !== 'edge')
          expect(got.setCookies, 'the row a shared cache would store').toEqual([]);
        expect([got.cc, got.targeted], JSON.stringify(got)).toEqual([PRIVATE, NO_STORE]);
      },
    );
  }
});

describe('STK-06 (control) a URL the rewrite sends nowhere keeps the page’s own caching', () => {
  const [, rewrite] = SHAPES[0]!;
  it.each(ROWS)(
    '$trust mode, $marker marker, $visit visit, $lane lane: private only with the sticky cookies',
    async ({ trust, marker, visit, lane }) => {
      const got = await visitOn(trust, rewrite, marker, visit, lane, '/other', (s) => s.version);
      expect(got.rewrite === null || new URL(got.rewrite).pathname === '/other').toBe(true);
      const sticky = got.setCookies.length > 0;
      expect([got.cc, got.targeted], JSON.stringify(got)).toEqual(
        sticky ? [PRIVATE, NO_STORE] : [null, UNTOUCHED],
      );
      // A returning visitor marked by cookie or split gets nothing written: the page's caching.
      if (visit === 'returning' && (marker === 'cookie' || marker === 'split'))
        expect(sticky).toBe(false);
    },
  );
});

describe('STK-06 the probe follows the config in force', () => {
  it('a version added by a config update is probed: its rewrite makes the URL private', async () => {
    const proxy = createGrayProxy({
      config: { versions: ['stable', 'beta'], default: 'stable' },
      rewrite: (r, o) =>
        o.decision.version === 'gamma' ? '/gamma' + r.nextUrl.pathname : undefined,
    });
    const before = seen(await proxy(new NextRequest(`${ORIGIN}/checkout`)));
    expect(before.cc).toBeNull();
    const update = proxy.gray.store.update({
      versions: ['stable', 'beta', 'gamma'],
      default: 'stable',
    });
    expect(update.status).toBe('changed');
    const after = seen(await proxy(new NextRequest(`${ORIGIN}/checkout`)));
    expect([after.cc, after.rewrite]).toEqual([PRIVATE, null]);
  });

  it('without a rewrite option nothing changes for a returning visitor', async () => {
    const proxy = createGrayProxy({ config, sticky: true });
    const got = seen(
      await proxy(
        new NextRequest(`${ORIGIN}/checkout`, { headers: { cookie: 'gray=beta; gray_uid=u' } }),
      ),
    );
    expect([got.cc, got.setCookies]).toEqual([null, []]);
  });
});
