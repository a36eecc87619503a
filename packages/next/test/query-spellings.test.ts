import { createGrayProxy } from '@graylane/next';
import { NextRequest } from 'next/server';
import { describe, expect, it } from 'vitest';

/**
 * GW-01/02 (QS-06 class) in the Next proxy: where it removes the client's query marker (edge
 * mode, signed mode's bare label, an overridden marker) it removed `gray` and `%67ray` only, so
 * `?GRAY=beta`, `?%47RAY=beta`, `?gray[]=beta`, `?[gray]=beta` reached the page or the rewrite
 * target — a marker to a next hop that reads keys without case or through qs. Rows named
 * `(control)` held before.
 */
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const ORIGIN = 'http://app.test';
const KEEP = '?q=a%20b&flag&t=~x';
const SPELLINGS = ['GRAY', 'Gray', '%47RAY', 'gray[]', '[gray]', '%5BGray%5D', '.gray'];
// PHP's `$_GET` skips leading spaces and ends a key at a NUL; Rack 2 skips brackets (review 147 D1).
SPELLINGS.push('+gray', 'gray%00x', ']gray');
const MODES = {
  edge: { trust: 'edge' },
  'signed (query on)': {
    trust: 'signed',
    keys: { k1: 'a-next-signing-key-of-32-bytes!!' },
    markers: { query: 'gray' },
  },
  'open, a header decides': {},
} as const;
const REWRITES: [string, ((r: NextRequest) => string) | undefined][] = [
  ['no rewrite', undefined],
  ['a same-origin rewrite keeping the query', (r) => `/beta${r.nextUrl.search}`],
  ['another origin keeping the query', (r) => `https://up.internal/p${r.nextUrl.search}`],
];

describe('GW-02 the Next proxy hands on no spelling of the client marker', () => {
  const rows = Object.keys(MODES).flatMap((m) =>
    REWRITES.flatMap(([r, fn]) => SPELLINGS.map((k) => [m, r, k, fn] as const)),
  );
  it.each(rows)('GW-02 %s, %s: %s', async (mode, _r, key, rewrite) => {
    const proxy = createGrayProxy({
      config,
      ...MODES[mode as keyof typeof MODES],
      ...(rewrite ? { rewrite } : {}),
    } as Parameters<typeof createGrayProxy>[0]);
    const headers: Record<string, string> = mode.startsWith('open') ? { 'x-gray-id': 'beta' } : {};
    const res = await proxy(new NextRequest(`${ORIGIN}/p${KEEP}&${key}=canary&z=1`, { headers }));
    // It leaves by a 307 to this URL without it (review 172 D2: a rewrite never reached a route
    // handler's request.url); the rewrite applies to the request the client sends next.
    const location = new URL(res.headers.get('location') ?? '', ORIGIN);
    expect([res.status, location.pathname + location.search]).toEqual([307, `/p${KEEP}&z=1`]);
    expect(res.headers.get('x-middleware-rewrite')).toBeNull();
    // Where it sends the client is served, never redirected again (no loop).
    const again = await proxy(new NextRequest(location.href, { headers }));
    expect(again.headers.get('location'), 'redirected twice').toBeNull();
  });

  it.each(Object.keys(MODES))(
    '(control) %s: keys that spell no marker: no rewrite, no redirect',
    async (mode) => {
      const proxy = createGrayProxy({
        config,
        ...MODES[mode as keyof typeof MODES],
      } as Parameters<typeof createGrayProxy>[0]);
      const headers: Record<string, string> = mode.startsWith('open')
        ? { 'x-gray-id': 'beta' }
        : {};
      const url = `${ORIGIN}/p${KEEP}&grayx=1&%00gray=2&a[gray]=3`;
      const res = await proxy(new NextRequest(url, { headers }));
      expect(res.headers.get('x-middleware-rewrite')).toBeNull();
      expect(res.headers.get('location')).toBeNull();
    },
  );
});
