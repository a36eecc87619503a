import { createGrayProxy } from '@graylane/next';
import { signMarker } from '@graylane/web';
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

/**
 * GW-02 in signed mode with the token in the query: the token decides and must stay (the client
 * keeps sending it), but another spelling beside it (`?gray=<token>&GRAY=beta`) is a marker to a
 * next hop that reads keys without case, and a route handler's `request.url` is the URL the
 * client sent. So the client is sent to the URL without the other spelling, the token's own pair
 * kept as written, last; that URL is then decided in-process with no second redirect.
 */
describe('GW-02 a signed query token with another spelling beside it', () => {
  const key = 'a-next-signing-key-of-32-bytes!!';
  const signed = { trust: 'signed', keys: { k1: key }, markers: { query: 'gray' } } as const;
  const rows = REWRITES.flatMap(([r, fn]) =>
    SPELLINGS.flatMap((k) =>
      (['before', 'after'] as const).map((where) => [r, k, where, fn] as const),
    ),
  );
  it.each(rows)('GW-02 %s: %s=canary %s the token', async (_r, spelling, where, rewrite) => {
    const token = await signMarker('beta', { key, kid: 'k1' });
    const proxy = createGrayProxy({
      config,
      ...signed,
      ...(rewrite ? { rewrite } : {}),
    } as Parameters<typeof createGrayProxy>[0]);
    const other = `${spelling}=canary`;
    const pairs = where === 'before' ? [other, `gray=${token}`] : [`gray=${token}`, other];
    const res = await proxy(new NextRequest(`${ORIGIN}/p${KEEP}&${pairs.join('&')}&z=1`));
    const location = new URL(res.headers.get('location') ?? '', ORIGIN);
    expect([res.status, location.pathname + location.search]).toEqual([
      307,
      `/p${KEEP}&z=1&gray=${token}`,
    ]);
    expect(res.headers.get('x-middleware-rewrite')).toBeNull();
    // The URL it sends the client to is decided by the token, in-process: no second redirect.
    const again = await proxy(new NextRequest(location.href));
    expect(again.headers.get('location'), 'redirected twice').toBeNull();
    if (rewrite === undefined)
      expect(new URL(again.headers.get('x-middleware-rewrite') ?? '').search).toBe(
        `${KEEP}&z=1&gray=beta`,
      );
  });

  it.each([
    [
      'an empty piece between the token and a spelling',
      (t: string) => `gray=${t}&&GRAY=x`,
      `/p?gray=TOKEN`,
    ],
    [
      'a spelling, the token, another spelling',
      (t: string) => `%47ray=1&a=1&gray=${t}&gray[]=2`,
      `/p?a=1&gray=TOKEN`,
    ],
  ])('GW-02 %s: the token pair stays, the rest goes', async (_l, query, want) => {
    const token = await signMarker('beta', { key, kid: 'k1' });
    const proxy = createGrayProxy({ config, ...signed } as Parameters<typeof createGrayProxy>[0]);
    const res = await proxy(new NextRequest(`${ORIGIN}/p?${query(token)}`));
    const location = new URL(res.headers.get('location') ?? '', ORIGIN);
    expect([res.status, location.pathname + location.search]).toEqual([
      307,
      want.replace('TOKEN', token),
    ]);
    const again = await proxy(new NextRequest(location.href));
    expect(again.headers.get('location')).toBeNull();
  });

  // Two `gray` pairs are ambiguous (the token does not decide), a `;` inside the token's pair
  // makes it no token: nothing is kept, every spelling goes, as for any rejected marker.
  it.each([
    ['the token and a bare label under the same name', (t: string) => `a=1&gray=${t}&gray=canary`],
    ['the token twice', (t: string) => `a=1&gray=${t}&gray=${t}`],
    ['a ;-parameter inside the token pair', (t: string) => `a=1&gray=${t};GRAY=canary`],
  ])('GW-02 %s: no token decides, every spelling goes', async (_l, query) => {
    const token = await signMarker('beta', { key, kid: 'k1' });
    const proxy = createGrayProxy({ config, ...signed } as Parameters<typeof createGrayProxy>[0]);
    const res = await proxy(new NextRequest(`${ORIGIN}/p?${query(token)}`));
    const location = new URL(res.headers.get('location') ?? '', ORIGIN);
    expect([res.status, location.pathname + location.search]).toEqual([307, '/p?a=1']);
  });

  it.each([
    ['the token alone', (t: string) => `gray=${t}`],
    ['the token between other parameters', (t: string) => `a=1&gray=${t}&b=2`],
    ['the token then an empty piece', (t: string) => `a=1&gray=${t}&`],
    ['keys that spell no marker beside it', (t: string) => `grayx=1&gray=${t}&a[gray]=3`],
  ])('(control) %s: rewritten in-process, no redirect', async (_l, query) => {
    const token = await signMarker('beta', { key, kid: 'k1' });
    const proxy = createGrayProxy({ config, ...signed } as Parameters<typeof createGrayProxy>[0]);
    const res = await proxy(new NextRequest(`${ORIGIN}/p?${query(token)}`));
    expect(res.headers.get('location')).toBeNull();
    expect(new URL(res.headers.get('x-middleware-rewrite') ?? '').searchParams.get('gray')).toBe(
      'beta',
    );
  });
});
