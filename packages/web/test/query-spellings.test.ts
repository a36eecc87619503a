import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createGraylane, type WebGraylaneOptions } from '../src/index.js';
import { graylaneHono } from '../src/hono.js';

/**
 * GW-01/02 (QS-06 class) on the Web engine: where graylane removes the client's query marker it
 * removed `gray` and `%67ray` only, so `?GRAY=beta`, `?%47RAY=beta`, `?gray[]=beta`,
 * `?[gray]=beta` reached the app and the upstream — a marker to a next hop that reads keys
 * without case or through qs. Every API that hands the request on is checked: `handle()` (the
 * app), `forwardRequest` (an upstream), `stripCarriers` (the failure path), the hono adapter.
 * The rest of the URL byte for byte. Rows named `(control)` held before.
 */
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const MODES: [string, Partial<WebGraylaneOptions>][] = [
  ['edge', { trust: 'edge' }],
  ['signed', { trust: 'signed', keys: { k1: 'a-web-signing-key-of-32-bytes!!!' } }],
  ['open, a header decides', {}],
];
const SPELLINGS = ['GRAY', 'Gray', '%47RAY', 'gray[]', 'GRAY[0]', '[gray]', '%5Bgray%5D', '.gray'];
// PHP's `$_GET` skips leading spaces and ends a key at a NUL; Rack 2 skips brackets (review 147 D1).
const PHP_RACK = ['+gray', '%20gray', 'gray%00x', ']gray', 'gray]'];
const KEEP = '?q=a%20b&flag&t=~x';
const headersFor = (mode: string): Record<string, string> =>
  mode.startsWith('open') ? { 'x-gray-id': 'beta' } : {};

/** The search part of `url` without the scheme, host and path. */
const search = (url: string) => url.slice(url.indexOf('?'));

describe('GW-02 the Web engine hands on no spelling of the client marker', () => {
  const rows = MODES.flatMap(([m, o]) =>
    [...SPELLINGS, ...PHP_RACK].map((k) => [m, k, o] as const),
  );
  it.each(rows)('GW-02 %s, %s: handle(), forwardRequest, stripCarriers', async (mode, key, o) => {
    const gray = createGraylane({ config, ...o } as WebGraylaneOptions);
    const url = `https://app.example/p${KEEP}&${key}=canary&z=1`;
    const make = () => new Request(url, { headers: headersFor(mode) });
    const want = `${KEEP}&z=1`;
    const app = await gray.handle(make(), (request) => new Response(request.url));
    expect(search(await app.text()), 'handle()').toBe(want);
    const outcome = await gray.decide(make());
    const up = gray.forwardRequest(make(), outcome, `https://up.internal/p${KEEP}&${key}=x&z=1`);
    expect(search(up.url), 'forwardRequest').toBe(want);
    if (mode === 'edge') expect(search(gray.stripCarriers(make()).url)).toBe(want);
  });

  it.each(MODES)('GW-02 %s: the hono adapter', async (mode, o) => {
    const app = new Hono();
    app.use(graylaneHono({ config, ...o } as WebGraylaneOptions));
    app.get('/*', (c) => c.json({ url: c.req.url, keys: Object.keys(c.req.queries()) }));
    for (const key of [...SPELLINGS, ...PHP_RACK]) {
      const res = await app.request(`https://app.example/p${KEEP}&${key}=canary&z=1`, {
        headers: headersFor(mode),
      });
      const seen = (await res.json()) as { url: string; keys: string[] };
      expect(search(seen.url), key).toBe(`${KEEP}&z=1`);
      expect(seen.keys, key).toEqual(['q', 'flag', 't', 'z']);
    }
  });

  it.each(MODES)('(control) %s: keys that spell no marker stay byte for byte', async (mode, o) => {
    const gray = createGraylane({ config, ...o } as WebGraylaneOptions);
    const url = `https://app.example/p${KEEP}&grayx=1&gray+=2&%09gray=3&a%5Bgray%5D=4`;
    const res = await gray.handle(new Request(url, { headers: headersFor(mode) }), (r) =>
      Response.json(r.url),
    );
    expect(await res.json()).toBe(url);
  });
});
