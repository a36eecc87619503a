import { createServer } from 'node:http';
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

describe('STK-06 Next: a response with the proxy’s sticky cookies is never stored by a shared cache', () => {
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
