import { createRequire } from 'node:module';
import { createGrayProxy, DECISION_REQUEST_HEADER } from '@graylane/next';
import { signMarker } from '@graylane/web';
import { NextRequest, type NextResponse } from 'next/server';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The proxy against Next's own `NextRequest`/`NextResponse` (the objects Next hands a proxy and
 * reads back): what the app will see is encoded in the `x-middleware-request-*` and
 * `x-middleware-override-headers` response headers, the rewrite in `x-middleware-rewrite`.
 * The live app (next-proxy/next-middleware tests) proves the same end to end.
 */
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const ORIGIN = 'http://app.test';

/** The request headers the app receives after the proxy, or undefined when Next passes them as they came. */
function appHeaders(res: NextResponse): Record<string, string> | undefined {
  const names = res.headers.get('x-middleware-override-headers');
  if (names === null) return undefined;
  return Object.fromEntries(
    names
      .split(',')
      .filter((n) => n !== '')
      .map((n) => [n, res.headers.get(`x-middleware-request-${n}`) ?? '']),
  );
}

const FORGED = [
  ['the debug format', 'version=canary; reason=header; source=header'],
  [
    'a made-up seal',
    `version=canary; reason=header; source=header; seal=canary.9999999999.realm.${'A'.repeat(43)}`,
  ],
  [
    'two values',
    'version=canary; reason=header; source=header, version=beta; reason=header; source=header',
  ],
  ['an oversized value', `version=canary; reason=header; source=header; ${'x'.repeat(600)}`],
] as const;

/** Next's own request store: what `cookies()` holds while rendering the request after the proxy. */
const { createRequestStore } = createRequire(import.meta.url)(
  'next/dist/server/async-storage/request-store.js',
) as {
  createRequestStore(input: object): { cookies: { getAll(): { name: string; value: string }[] } };
};

/**
 * `cookies()` in a server component on the request `res` passed on, as Next builds it: the
 * request's `Cookie` header, then the proxy's `x-middleware-set-cookie` (resolve-routes.js moves
 * it onto the request; request-store.js `mergeMiddlewareCookies` merges it).
 */
function renderJar(res: NextResponse, cookie = ''): Record<string, string> {
  const handed = res.headers.get('x-middleware-set-cookie');
  const headers = { cookie, ...(handed === null ? {} : { 'x-middleware-set-cookie': handed }) };
  const store = createRequestStore({ phase: 'render', headers, url: { pathname: '/' } });
  return Object.fromEntries(store.cookies.getAll().map((c) => [c.name, c.value]));
}

/** `name=value` of `Set-Cookie` values, decoded as a browser sends them back. */
function setCookiePairs(res: NextResponse, except: readonly string[] = []): Record<string, string> {
  const pairs = res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf(';') >>> 0));
  return Object.fromEntries(
    pairs
      .map((p) => [p.slice(0, p.indexOf('=')), decodeURIComponent(p.slice(p.indexOf('=') + 1))])
      .filter(([n]) => !except.includes(n as string)),
  );
}

afterEach(() => {
  delete process.env['GRAYLANE_DECISION_KEY'];
});

describe('GW-01 the app only ever sees the decision the proxy sealed', () => {
  it.each(FORGED)(
    'a forged decision header (%s) is replaced by the sealed decision',
    async (_l, forged) => {
      const proxy = createGrayProxy({ config });
      const req = new NextRequest(`${ORIGIN}/`, {
        headers: { [DECISION_REQUEST_HEADER]: forged, 'x-gray-id': 'beta' },
      });
      const seen = appHeaders(await proxy(req));
      expect(seen?.[DECISION_REQUEST_HEADER]).toMatch(
        /^version=beta; reason=header; source=header; seal=beta\.\d+\.realm\.[A-Za-z0-9_-]{43}$/,
      );
      expect(seen?.['x-gray-id']).toBe('beta');
    },
  );

  const failing: [string, () => ConstructorParameters<typeof NextRequest>[0] | object, object][] = [
    [
      'the rewrite throws',
      () => new NextRequest(`${ORIGIN}/`),
      {
        rewrite: () => {
          throw new Error('x');
        },
      },
    ],
    [
      'the rewrite returns a bad URL',
      () => new NextRequest(`${ORIGIN}/`),
      { rewrite: () => 'http://[' },
    ],
    [
      'the request object itself fails (a nextUrl that throws)',
      () => {
        const real = new NextRequest(`${ORIGIN}/`);
        return {
          url: real.url,
          method: 'GET',
          headers: new Headers({ [DECISION_REQUEST_HEADER]: FORGED[0][1] }),
          get nextUrl(): never {
            throw new Error('broken');
          },
        };
      },
      {},
    ],
  ];
  it.each(failing)(
    'when %s, a client decision header still never reaches the app',
    async (_l, make, extra) => {
      const proxy = createGrayProxy({ config, ...extra });
      const made = make();
      const req =
        made instanceof NextRequest
          ? new NextRequest(made, { headers: { [DECISION_REQUEST_HEADER]: FORGED[0][1] } })
          : made;
      const res = await proxy(req as NextRequest);
      const seen = appHeaders(res);
      // Next replaces the request headers with exactly the listed ones: the forged value is gone,
      // or replaced by a sealed decision.
      expect(seen).toBeDefined();
      const value = seen?.[DECISION_REQUEST_HEADER];
      if (value !== undefined) expect(value).toMatch(/; seal=/);
    },
  );

  it('INVALID_OPTIONS at construction when GRAYLANE_DECISION_KEY is too short', () => {
    process.env['GRAYLANE_DECISION_KEY'] = 'short';
    expect(() => createGrayProxy({ config })).toThrow(/at least 16|16 bytes|too short/i);
  });

  it('with GRAYLANE_DECISION_KEY the seal is made with the shared key', async () => {
    process.env['GRAYLANE_DECISION_KEY'] = 'a-shared-secret-of-32-characters';
    const seen = appHeaders(
      await createGrayProxy({ config })(new NextRequest(`${ORIGIN}/?gray=canary`)),
    );
    expect(seen?.[DECISION_REQUEST_HEADER]).toMatch(/; seal=canary\.\d+\.env\./);
  });
});

describe('I8 a rewrite to another origin gets the lane only when allowlisted, never the decision', () => {
  const rows = [
    ['the same origin', '/beta/page', { marker: true, decision: true }],
    ['an allowlisted origin', 'http://orders.internal:8080/v1', { marker: true, decision: false }],
    ['another origin', 'https://third-party.example/v1', { marker: false, decision: false }],
    [
      'a lookalike of the allowlisted one',
      'http://orders.internal.evil.test:8080/v1',
      { marker: false, decision: false },
    ],
  ] as const;
  it.each(rows)('%s', async (_l, to, want) => {
    const proxy = createGrayProxy({
      config,
      allowHosts: ['orders.internal:8080'],
      rewrite: () => to,
    });
    const req = new NextRequest(`${ORIGIN}/x`, {
      headers: {
        'x-gray-id': 'beta',
        baggage: 'a=1,gray=beta',
        [DECISION_REQUEST_HEADER]: FORGED[0][1],
      },
    });
    const res = await proxy(req);
    expect(new URL(res.headers.get('x-middleware-rewrite') ?? '', ORIGIN).href).toBe(
      new URL(to, ORIGIN).href,
    );
    const seen = appHeaders(res) ?? {};
    expect(seen['x-gray-id']).toBe(want.marker ? 'beta' : undefined);
    expect(/(^|,)\s*gray=/.test(seen['baggage'] ?? '')).toBe(want.marker);
    expect(seen['baggage']).toContain('a=1');
    expect(seen[DECISION_REQUEST_HEADER] !== undefined).toBe(want.decision);
  });
});

describe('GW-02 edge mode: the app sees none of the client carriers, the query marker included', () => {
  const rows = [
    ['the query marker', '/p?gray=beta&x=1', {}, '?x=1'],
    ['only the query marker', '/p?gray=beta', {}, ''],
    ['a repeated query marker', '/p?gray=beta&x=1&gray=canary', {}, '?x=1'],
    ['no query marker (no rewrite)', '/p?x=1', {}, undefined],
    [
      'header, cookie and baggage',
      '/p?x=1',
      { 'x-gray-id': 'beta', cookie: 'a=1; gray=beta', baggage: 'a=1,gray=beta' },
      undefined,
    ],
  ] as const;
  it.each(rows)('%s', async (_l, path, headers, search) => {
    const proxy = createGrayProxy({ config, trust: 'edge' });
    const res = await proxy(new NextRequest(`${ORIGIN}${path}`, { headers }));
    expect(res.headers.get('x-middleware-rewrite')).toBeNull();
    if (search !== undefined) {
      // The query marker leaves by a 307 to the URL without it: Next hands a route handler the
      // URL the client sent even after a rewrite (review 172 D2). The app is not run on it.
      expect(res.status).toBe(307);
      expect(new URL(res.headers.get('location') ?? '', ORIGIN).search).toBe(search);
      return;
    }
    expect(res.headers.get('location')).toBeNull();
    const seen = appHeaders(res) ?? {};
    expect(seen['x-gray-id']).toBe('stable');
    expect(seen['cookie'] ?? '').not.toMatch(/(^|;\s*)gray=/);
    expect(seen['baggage']).toBe('gray=stable' + ('baggage' in headers ? ',a=1' : ''));
    expect(seen[DECISION_REQUEST_HEADER]).toMatch(
      /^version=stable; reason=(default|untrusted_marker); /,
    );
  });
});

describe('GW-02 the proxy passes on core’s edits, in every mode, on every URL', () => {
  const KEEP = '?q=a%20b&flag&t=~x&path=/a/b';
  const SENT: [string, Record<string, string>, string][] = [
    ['header', { 'x-gray-id': 'canary' }, ''],
    ['__Host-gray cookie', { cookie: 'a=1; __Host-gray=canary' }, ''],
    ['gray cookie', { cookie: 'a=1; gray=canary' }, ''],
    ['baggage', { baggage: 'k=v,gray=canary' }, ''],
    ['query', {}, '&gray=canary'],
    ['bucket header', { 'x-gray-bucket': '0' }, ''],
  ];
  const REWRITES: [string, ((r: NextRequest) => string) | undefined][] = [
    ['no rewrite', undefined],
    ['a same-origin rewrite keeping the query', (r) => `/beta${r.nextUrl.search}`],
    [
      'a rewrite to another origin keeping the query',
      (r) => `https://up.internal/p${r.nextUrl.search}`,
    ],
  ];
  const rows = SENT.flatMap(([s, h, q]) => REWRITES.map(([r, fn]) => [s, r, h, q, fn] as const));

  it.each(rows)('GW-02 edge, %s, %s', async (_s, _r, sent, q, rewrite) => {
    const proxy = createGrayProxy({
      config,
      trust: 'edge',
      markers: { query: 'gray' },
      bucketHeader: true,
      ...(rewrite ? { rewrite } : {}),
    });
    const res = await proxy(new NextRequest(`${ORIGIN}/p${KEEP}${q}`, { headers: sent }));
    if (q !== '') {
      // The query marker leaves by a redirect to this URL without it, whatever the rewrite: the
      // request the client sends next is decided (and rewritten) again, without it.
      const location = new URL(res.headers.get('location') ?? '', ORIGIN);
      expect([res.status, location.pathname + location.search]).toEqual([307, `/p${KEEP}`]);
      return;
    }
    const seen = appHeaders(res) ?? {};
    const target = res.headers.get('x-middleware-rewrite');
    expect(seen['cookie'] ?? '').not.toMatch(/(^|;\s*)(__Host-)?gray=/);
    expect(seen['baggage'] ?? '').not.toMatch(/gray=canary/);
    expect(seen['x-gray-id'] ?? 'stable').toBe('stable');
    expect(seen['x-gray-bucket']).not.toBe('0');
    if (target !== null) {
      expect(new URL(target).searchParams.has('gray')).toBe(false);
      expect(target).toContain(KEEP);
    } else expect(q).toBe('');
  });
});

describe('STK I1 the proxy’s cookies survive an app that wraps it and sets its own', () => {
  // Next allows one proxy/middleware: auth, i18n and graylane share it, so apps wrap
  // createGrayProxy and adjust the response. NextResponse reads its cookies once, when it is
  // built; `cookies.set`/`delete` then rewrite every Set-Cookie from that list.
  const split = halfSplit('gray_uid');
  // The last column: cookies `cookies()` does not see on this request, as Next 16 hands them
  // over (spec-extension/response.js): only what goes through the `response.cookies` proxy — not
  // a raw append, nor the second `set` of a chain (`set()` returns the unproxied jar) — and a
  // deleted cookie with no value.
  const APP_EDITS: [string, (res: NextResponse) => void, string[], string[]][] = [
    ['nothing', () => undefined, [], []],
    ['cookies.set', (r) => void r.cookies.set('theme', 'dark'), ['theme'], []],
    ['cookies.set twice', (r) => void r.cookies.set('a', '1').set('b', '2'), ['a', 'b'], ['b']],
    ['cookies.delete', (r) => void r.cookies.delete('legacy'), ['legacy'], ['legacy']],
    ['headers.append', (r) => r.headers.append('set-cookie', 'raw=1; Path=/'), ['raw'], ['raw']],
    [
      'cookies.set over graylane’s own name',
      (r) => void r.cookies.set('other', 'x', { path: '/', httpOnly: true }),
      ['other'],
      [],
    ],
    [
      'cookies.set of gray_uid itself (the app wins)',
      (r) => void r.cookies.set('gray_uid', 'app chosen', { path: '/' }),
      [],
      [],
    ],
  ];
  const ROUTES: [string, ((req: NextRequest) => string | undefined) | undefined][] = [
    ['next()', undefined],
    ['a rewrite', () => '/lanes/x'],
  ];
  const rows = ROUTES.flatMap(([r, rewrite]) => APP_EDITS.map((e) => [r, ...e, rewrite] as const));
  it.each(rows)('%s, then the app’s %s', async (_r, e, edit, appCookies, unseen, rewrite) => {
    const proxy = createGrayProxy({
      config: split,
      sticky: true,
      debugHeader: true,
      ...(rewrite ? { rewrite } : {}),
    });
    const res = await proxy(new NextRequest(`${ORIGIN}/p`));
    edit(res);
    const names = res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf('=')));
    expect(names.filter((n) => n === 'gray_uid' || n === 'gray').sort()).toEqual([
      'gray',
      'gray_uid',
    ]);
    for (const n of appCookies) expect(names).toContain(n);
    expect(new Set(names).size).toBe(names.length);
    const gray = res.headers.getSetCookie().find((c) => c.startsWith('gray='));
    expect(gray).toMatch(/Max-Age=2592000/i);
    expect(gray).toMatch(/HttpOnly/i);
    expect(res.headers.get('x-gray-decision')).toContain(
      `version=${gray?.slice(5, gray.indexOf(';'))};`,
    );
    // STK-05: `cookies()` on this very request holds what the browser will send next time.
    const jar = renderJar(res);
    expect(jar).toEqual(setCookiePairs(res, unseen));
    expect(jar['gray_uid']).toMatch(e.includes('gray_uid') ? /^app chosen$/ : /^[0-9a-f-]{36}$/);
  });
});

describe('STK-05 the proxy’s cookies reach `cookies()` on the request that set them, here only', () => {
  const split = {
    ...config,
    rules: [{ id: 'all', split: [{ version: 'beta', weight: 100 }], bucketBy: 'cookie:gray_uid' }],
  };
  const ALLOWED = 'http://api.internal';
  const rows: [string, string, string | undefined, string[]][] = [
    ['a new visitor, served here', '', undefined, ['gray_uid', 'gray']],
    ['a new visitor, rewritten to a route here', '', '/lanes/beta', ['gray_uid', 'gray']],
    ['a new visitor, rewritten to an allowlisted origin', '', `${ALLOWED}/x`, []],
    ['a new visitor, rewritten to another origin', '', 'http://other.test/x', []],
    ['a visitor with an id (gray written)', 'gray_uid=u1', undefined, ['gray']],
    ['a returning visitor (nothing written)', 'gray_uid=u1; gray=beta', undefined, []],
    ['a marker by header (never persisted)', '', undefined, []],
  ];
  it.each(rows)('%s', async (label, cookie, to, handed) => {
    const proxy = createGrayProxy({
      config: split,
      sticky: true,
      allowHosts: ['api.internal'],
      ...(to ? { rewrite: () => to } : {}),
    });
    const headers = {
      ...(cookie ? { cookie } : {}),
      ...(label.includes('header') ? { 'x-gray-id': 'beta' } : {}),
    };
    const res = await proxy(new NextRequest(`${ORIGIN}/p`, { headers }));
    const handedOver = res.headers.get('x-middleware-set-cookie') ?? '';
    expect(
      handedOver
        .split(/,(?=[^;,=]+=)/)
        .filter(Boolean)
        .map((c) => c.slice(0, c.indexOf('='))),
    ).toEqual(handed);
    const written = setCookiePairs(res);
    const jar = renderJar(res, cookie);
    for (const name of handed) expect(jar[name]).toBe(written[name]);
    // Next copies the response's headers into what it forwards to another origin: only an
    // allowlisted one's response sets the cookies (review 157 D1).
    if (to?.startsWith(ALLOWED)) expect(Object.keys(written)).toContain('gray_uid');
    else if (to?.startsWith('http')) expect(written).toEqual({});
  });
});

describe('GW-02 I1 edge mode: on the failure path the app still sees none of the client carriers', () => {
  // The proxy falls back to passing the request on when deciding or building the response
  // throws; in `edge` mode that request must still lose every carrier, as the Web engine's own
  // failure path strips them.
  // A nextUrl that throws fails the proxy where it is read: on a query marker (edge mode
  // removes it from the URL); a seal that cannot be made fails every request.
  const FAILURES: [string, (url: string, headers: Record<string, string>) => NextRequest][] = [
    [
      'the request object fails (a nextUrl that throws, read for the query marker)',
      (url, headers) => {
        const real = new NextRequest(url, { headers });
        return {
          url: real.url,
          method: 'GET',
          headers: real.headers,
          get nextUrl(): never {
            throw new Error('broken');
          },
        } as unknown as NextRequest;
      },
    ],
    [
      'the seal fails (GRAYLANE_DECISION_KEY cut short after startup)',
      (url, headers) => {
        process.env['GRAYLANE_DECISION_KEY'] = 'short';
        return new NextRequest(url, { headers });
      },
    ],
  ];
  const CARRIERS: [string, string, Record<string, string>][] = [
    ['the marker header', '/p?x=1', { 'x-gray-id': 'beta' }],
    ['the gray cookie', '/p?x=1', { cookie: 'a=1; gray=beta' }],
    ['the __Host-gray cookie', '/p?x=1', { cookie: '__Host-gray=canary; a=1' }],
    ['the baggage member', '/p?x=1', { baggage: 'a=1,gray=beta' }],
    ['the query marker', '/p?gray=beta&x=1', {}],
    ['a repeated query marker', '/p?x=1&gray=beta&gray=canary', {}],
    [
      'every carrier and a forged decision',
      '/p?gray=canary&x=1',
      {
        'x-gray-id': 'canary',
        cookie: 'gray=beta; a=1; __Host-gray=beta',
        baggage: 'gray=beta,a=1',
        [DECISION_REQUEST_HEADER]: FORGED[0][1],
      },
    ],
  ];
  const rows = FAILURES.flatMap(([f, make]) =>
    CARRIERS.filter(([, path]) => !f.includes('nextUrl') || path.includes('gray=')).map(
      (c) => [f, ...c, make] as const,
    ),
  );
  it.each(rows)('%s: %s', async (_f, _c, path, headers, make) => {
    const proxy = createGrayProxy({ config, trust: 'edge', sticky: true });
    const res = await proxy(make(`${ORIGIN}${path}`, headers));
    expect(res.headers.get('x-middleware-rewrite')).toBeNull();
    if (path.includes('gray=')) {
      // The query marker leaves by a redirect to the URL without it; the app is not run.
      expect(res.status).toBe(307);
      expect(new URL(res.headers.get('location') ?? '', ORIGIN).search).toBe('?x=1');
      return;
    }
    const seen = appHeaders(res);
    expect(seen, 'the request headers are replaced').toBeDefined();
    expect(seen?.['x-gray-id']).toBeUndefined();
    expect(seen?.[DECISION_REQUEST_HEADER]).toBeUndefined();
    expect(seen?.['cookie'] ?? '').not.toMatch(/(^|;\s*)(__Host-)?gray=/);
    expect(seen?.['baggage'] ?? '').not.toMatch(/(^|,)\s*gray=/);
    if ('cookie' in headers) expect(seen?.['cookie']).toBe('a=1');
    if ('baggage' in headers) expect(seen?.['baggage']).toBe('a=1');
  });
});

describe('I8 a rewrite to an origin off the allowlist gets none of the lane’s carriers', () => {
  // Core keeps, for this app, a client carrier that says the decided version (open mode) and
  // turns a signed token into the plain label (signed mode); another origin off the allowlist
  // must get neither, as it gets no marker header and no baggage member.
  const KEY = 'a-signing-key-of-32-characters!!';
  const split = halfSplit('uid');
  const SENT: [string, object, string, (token: string) => Record<string, string>][] = [
    ['open, the query marker decides', {}, '?gray=beta&x=1', () => ({ cookie: 'a=1' })],
    ['open, the gray cookie decides', {}, '?x=1', () => ({ cookie: 'gray=beta; a=1' })],
    [
      'open, the __Host-gray cookie decides',
      {},
      '?x=1',
      () => ({ cookie: 'a=1; __Host-gray=beta' }),
    ],
    [
      'open, the header decides, cookie and query agree',
      {},
      '?x=1&gray=beta',
      () => ({ 'x-gray-id': 'beta', cookie: 'a=1; gray=beta', baggage: 'k=v,gray=beta' }),
    ],
    [
      'open, a split with the bucket header',
      { config: split, bucketHeader: true },
      '?x=1',
      () => ({ cookie: 'uid=u1; a=1' }),
    ],
    [
      'signed, a token cookie (rewritten to the plain label for this app)',
      { trust: 'signed', keys: { k1: KEY } },
      '?x=1',
      (token) => ({ cookie: `a=1; gray=${token}` }),
    ],
  ];
  const TARGETS = [
    ['another origin', 'https://third-party.example/v1'],
    ['a lookalike of the allowlisted one', 'http://orders.internal.evil.test:8080/v1'],
  ] as const;
  const rows = SENT.flatMap((s) => TARGETS.map((t) => [s[0], t[0], s, t[1]] as const));
  it.each(rows)('%s, rewritten to %s', async (_s, _t, [, extra, search, make], to) => {
    const token = await signMarker('beta', { key: KEY, kid: 'k1' });
    const proxy = createGrayProxy({
      config,
      allowHosts: ['orders.internal:8080'],
      // The app copies the request's query into the rewrite, as rewrites often do.
      rewrite: (r) => `${to}${r.nextUrl.search}`,
      ...extra,
    });
    const res = await proxy(new NextRequest(`${ORIGIN}/p${search}`, { headers: make(token) }));
    const target = new URL(res.headers.get('x-middleware-rewrite') ?? '');
    expect(target.origin + target.pathname).toBe(to);
    expect(target.search).toBe('?x=1');
    const seen = appHeaders(res) ?? {};
    expect(seen['x-gray-id']).toBeUndefined();
    expect(seen['x-gray-bucket']).toBeUndefined();
    expect(seen[DECISION_REQUEST_HEADER]).toBeUndefined();
    expect(seen['cookie']).toMatch(/(^|; )a=1(;|$)/);
    expect(seen['cookie']).not.toMatch(/(^|;\s*)(__Host-)?gray=/);
    expect(seen['baggage'] ?? '').not.toMatch(/(^|,)\s*gray=/);
  });
});

/** `config` with one rule: beta or stable, half each, bucketed by the cookie `bucket`. */
function halfSplit(bucket: string) {
  return {
    ...config,
    rules: [
      {
        id: 'half',
        split: [
          { version: 'beta', weight: 50 },
          { version: 'stable', weight: 50 },
        ],
        bucketBy: `cookie:${bucket}`,
      },
    ],
  };
}

describe('GW-02 a query marker the decision removes leaves by a 307, any method (review 172 D2)', () => {
  // Next hands a route handler the URL the client sent even after a rewrite to the same origin:
  // the marker is not rewritten away but sent back, and the client asks again without it.
  const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
  it.each(METHODS)(
    '%s: a 307 to this URL without it, with the first visit’s sticky cookies and debug header',
    async (method) => {
      const proxy = createGrayProxy({
        config: halfSplit('gray_uid'),
        trust: 'edge',
        sticky: true,
        debugHeader: true,
      });
      const body = method === 'GET' || method === 'HEAD' ? {} : { body: 'payload=1' };
      const res = await proxy(
        new NextRequest(`${ORIGIN}/p?a=1&gray=canary&x=1`, { method, ...body }),
      );
      expect([res.status, res.headers.get('location')]).toEqual([307, `${ORIGIN}/p?a=1&x=1`]);
      expect(res.headers.get('x-middleware-rewrite')).toBeNull();
      expect(Object.keys(setCookiePairs(res))).toContain('gray_uid');
      expect(res.headers.get('x-gray-decision')).toMatch(/^version=(beta|stable); /);
      // No app runs on this request: nothing is handed over to `cookies()`.
      expect(res.headers.get('x-middleware-set-cookie')).toBeNull();
      expect(appHeaders(res)).toBeUndefined();
    },
  );

  it('(control) a signed token in the query decides: rewritten to the label in-process, no redirect', async () => {
    const key = 'a-signing-key-of-32-characters!!';
    const token = await signMarker('beta', { key, kid: 'k1' });
    const proxy = createGrayProxy({
      config,
      trust: 'signed',
      keys: { k1: key },
      markers: { query: 'gray' },
    });
    const res = await proxy(new NextRequest(`${ORIGIN}/p?a=1&gray=${token}`));
    expect(res.headers.get('location')).toBeNull();
    expect(new URL(res.headers.get('x-middleware-rewrite') ?? '').search).toBe('?a=1&gray=beta');
  });
});
